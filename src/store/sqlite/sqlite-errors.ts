import { StoreUnavailableError } from "../event-store.js";

/** SQLite result codes (by prefix) and the stable reason each becomes. */
const REASONS: ReadonlyArray<[prefix: string, reason: string, say: string]> = [
  ["SQLITE_BUSY", "STORE_BUSY", "the database is locked by another writer"],
  ["SQLITE_LOCKED", "STORE_BUSY", "the database is locked"],
  ["SQLITE_READONLY", "STORE_READ_ONLY", "the database file is read-only"],
  ["SQLITE_FULL", "STORE_FULL", "the disk holding the database is full"],
  ["SQLITE_CORRUPT", "STORE_CORRUPT", "the database file is corrupt"],
  ["SQLITE_NOTADB", "STORE_CORRUPT", "the file is not an SQLite database"],
  ["SQLITE_CANTOPEN", "STORE_CANNOT_OPEN", "the database file cannot be opened"],
  ["SQLITE_IOERR", "STORE_IO_ERROR", "the disk reported an I/O error"],
  ["SQLITE_PERM", "STORE_READ_ONLY", "no permission to write the database"],
];

/**
 * Maps an SQLite error to StoreUnavailableError when it is about the environment (locks,
 * disk, permissions, corruption); anything else (a bug) is passed through unchanged.
 */
export function storeErrorOf(error: unknown, path?: string): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return error;
  const match = REASONS.find(([prefix]) => code.startsWith(prefix));
  if (!match) return error;
  const where = path ? ` (${path})` : "";
  return new StoreUnavailableError(match[1], `${match[2]}${where}: ${(error as Error).message}`, { cause: error });
}
