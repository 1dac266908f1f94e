import Database from "better-sqlite3";
import { storeErrorOf } from "../store/sqlite/sqlite-errors.js";
import { REACTION_TABLES_SQL } from "../store/sqlite/reaction-tables.js";
import type { ConsumerLease, ReactionLedger } from "./ledger.js";

/** The consumers table of the store's migrations (schema.ts), for a ledger in memory. */
const MEMORY_CONSUMERS_TABLE = `
  CREATE TABLE consumers (name TEXT PRIMARY KEY, position INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL DEFAULT '', lease_expires INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
`;

/**
 * The reaction ledger on a SQLite file, on a connection of its own beside the store's (the
 * store's migrations made the tables; ":memory:" makes its own). Every write is one short
 * IMMEDIATE transaction; another process on the file waits its turn within `busyTimeoutMs`.
 * SQLite's failures arrive as StoreUnavailableError, which the runner retries.
 */
export function openSqliteLedger(path: string, busyTimeoutMs = 5000): ReactionLedger {
  const db = new Database(path, { timeout: busyTimeoutMs });
  db.pragma("journal_mode = WAL");
  // An in-memory store's tables are its own connection's: an in-memory ledger makes its own, as the store's migrations do.
  if (path === ":memory:") db.exec(`${MEMORY_CONSUMERS_TABLE}${REACTION_TABLES_SQL}`);
  const sql = {
    ensure: db.prepare("INSERT INTO consumers (name) VALUES (?) ON CONFLICT (name) DO NOTHING"),
    get: db.prepare("SELECT position, owner, lease_expires FROM consumers WHERE name = ?"),
    take: db.prepare("UPDATE consumers SET owner = ?, lease_expires = ? WHERE name = ?"),
    checkpoint: db.prepare("UPDATE consumers SET position = ? WHERE name = ? AND owner = ?"),
    release: db.prepare("UPDATE consumers SET lease_expires = 0 WHERE name = ? AND owner = ?"),
    done: db.prepare("SELECT done FROM reaction_marks WHERE reaction = ? AND event_id = ?").pluck(),
    note: db.prepare(
      "INSERT INTO reaction_marks (reaction, event_id, done, started_at) VALUES (?, ?, ?, ?) ON CONFLICT (reaction, event_id) DO UPDATE SET done = excluded.done",
    ),
    settle: db.prepare("DELETE FROM reaction_marks WHERE reaction = ? AND event_id = ?"),
  };
  const claim = db.transaction((name: string, owner: string, ttlMs: number): ConsumerLease => {
    sql.ensure.run(name);
    const row = sql.get.get(name) as { position: number; owner: string; lease_expires: number };
    const now = Date.now();
    if (row.owner !== owner && row.owner !== "" && row.lease_expires > now) return { held: false, owner: row.owner, position: row.position };
    sql.take.run(owner, now + ttlMs, name);
    return { held: true, owner, position: row.position };
  });
  const commit = db.transaction((name: string, owner: string, position: number, settledEventId?: string) => {
    // A runner whose lease expired and was taken is refused: its checkpoint would move the new owner's.
    if (sql.checkpoint.run(position, name, owner).changes === 0) return "lease-lost" as const;
    if (settledEventId !== undefined) sql.settle.run(name, settledEventId);
    return "committed" as const;
  });
  const run = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(storeErrorOf(error));
    }
  };
  return {
    claim: (name, owner, ttlMs) => run(() => claim.immediate(name, owner, ttlMs)),
    commit: (name, owner, position, settledEventId) => run(() => commit.immediate(name, owner, position, settledEventId)),
    release: (name, owner) => run(() => void sql.release.run(name, owner)),
    effectsDone: (name, eventId) => run(() => sql.done.get(name, eventId) as number | undefined),
    noteEffects: (name, eventId, done) => run(() => void sql.note.run(name, eventId, done, Date.now())),
    close: () => run(() => void db.close()),
  };
}
