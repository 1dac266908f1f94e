import { StoreUnavailableError } from "../event-store.js";

/** SQLSTATE codes (by prefix) and the stable reason each becomes; https://www.postgresql.org/docs/current/errcodes-appendix.html */
const SQLSTATES: ReadonlyArray<[prefix: string, reason: string, say: string]> = [
  ["08", "STORE_UNREACHABLE", "the connection to PostgreSQL failed"],
  ["28", "STORE_CANNOT_OPEN", "PostgreSQL refused the credentials"],
  ["3D000", "STORE_CANNOT_OPEN", "the database does not exist"],
  ["25006", "STORE_READ_ONLY", "the database is read-only (a standby?)"],
  ["40001", "STORE_BUSY", "PostgreSQL could not serialize the transaction"],
  ["40P01", "STORE_BUSY", "PostgreSQL broke a deadlock"],
  ["53100", "STORE_FULL", "the disk holding the database is full"],
  ["53", "STORE_BUSY", "PostgreSQL is out of resources"],
  ["55P03", "STORE_BUSY", "a lock was not available"],
  ["57014", "STORE_BUSY", "the statement was cancelled"],
  ["57P", "STORE_UNREACHABLE", "PostgreSQL is shutting down or starting"],
  ["58", "STORE_IO_ERROR", "PostgreSQL reported an I/O error"],
  ["XX001", "STORE_CORRUPT", "PostgreSQL found corrupt data"],
  ["XX002", "STORE_CORRUPT", "PostgreSQL found a corrupt index"],
];

/** Node's network error codes for a server that cannot be reached. */
const NETWORK = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

/** The reason for an SQLSTATE code, or undefined when the code says the request itself was wrong (a bug). */
export function reasonOfSqlState(code: string): [reason: string, say: string] | undefined {
  const match = SQLSTATES.find(([prefix]) => code.startsWith(prefix));
  return match && [match[1], match[2]];
}

/**
 * Maps a pg error to StoreUnavailableError when it is about the environment (the server
 * unreachable or going away, the disk, locks, credentials); anything else (a bug) is
 * passed through unchanged.
 */
export function storeErrorOf(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === "string" && NETWORK.has(code)) {
    return new StoreUnavailableError("STORE_UNREACHABLE", `PostgreSQL cannot be reached: ${message}`, { cause: error });
  }
  // pg's own words when the server closed the connection under a query, which carry no code.
  if (code === undefined && /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
    return new StoreUnavailableError("STORE_UNREACHABLE", `the connection to PostgreSQL was lost: ${message}`, { cause: error });
  }
  if (typeof code !== "string") return error;
  const match = reasonOfSqlState(code);
  return match ? new StoreUnavailableError(match[0], `${match[1]}: ${message}`, { cause: error }) : error;
}
