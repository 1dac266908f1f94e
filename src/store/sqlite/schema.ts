import type Database from "better-sqlite3";
import { DOCUMENT_COLUMNS_SQL } from "./document-columns.js";
import { REACTION_TABLES_SQL } from "./reaction-tables.js";

/**
 * Schema migrations, applied in order on open. Index i holds the step from version i to
 * version i+1; never edit a shipped step, append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE events (
    position  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant    TEXT    NOT NULL,
    stream_id TEXT    NOT NULL,
    revision  INTEGER NOT NULL CHECK (revision >= 1),
    id        TEXT    NOT NULL UNIQUE,
    type      TEXT    NOT NULL,
    data      TEXT    NOT NULL,
    metadata  TEXT    NOT NULL,
    UNIQUE (tenant, stream_id, revision)
  );
  CREATE INDEX events_by_tenant ON events (tenant, position);
  CREATE TABLE snapshots (
    tenant    TEXT    NOT NULL,
    stream_id TEXT    NOT NULL,
    revision  INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    state     TEXT    NOT NULL,
    PRIMARY KEY (tenant, stream_id)
  ) WITHOUT ROWID;
  CREATE TABLE requests (
    seq          INTEGER PRIMARY KEY,
    tenant       TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    command_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    result       TEXT NOT NULL,
    created_at   TEXT NOT NULL
  );
  CREATE UNIQUE INDEX requests_by_id ON requests (tenant, request_id);
  `,
  // The events' global positions beside the result, which is now decided before the append.
  // Rows from before keep '[]': their result already holds the positions.
  `ALTER TABLE requests ADD COLUMN positions TEXT NOT NULL DEFAULT '[]';`,
  // Scheduled commands (schedule-store.ts): written with the events that made them, claimed
  // by runners under a lease (claim token, owner, until when), settled or made dead letters.
  // Times are ms since the epoch on the service's clock.
  `
  CREATE TABLE schedules (
    id             TEXT    PRIMARY KEY,
    tenant         TEXT    NOT NULL,
    command_type   TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    run_at         INTEGER NOT NULL,
    identity       TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    causation_id   TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'pending',
    attempts       INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER,
    claim          TEXT,
    claim_owner    TEXT,
    lease_until    INTEGER,
    last_error     TEXT,
    outcome        TEXT,
    finished_at    INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX schedules_due ON schedules (run_at) WHERE status = 'pending';
  CREATE INDEX schedules_by_tenant ON schedules (tenant, status, id);
  `,
  // Read models: documents per tenant and collection, each declared field's value in a side
  // table whose index serves filters and keyset pages ordered by (value, id) (moved into
  // columns by DOCUMENT_COLUMNS_SQL below); consumers' checkpoints with the lease that lets
  // one process run each.
  `
  CREATE TABLE documents (
    tenant     TEXT    NOT NULL,
    collection TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (tenant, collection, id)
  ) WITHOUT ROWID;
  CREATE TABLE document_fields (
    tenant     TEXT NOT NULL,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    field      TEXT NOT NULL,
    value      NOT NULL, -- no declared type: no affinity, strings stay strings and numbers numbers
    PRIMARY KEY (tenant, collection, id, field)
  ) WITHOUT ROWID;
  CREATE INDEX document_fields_by_value ON document_fields (tenant, collection, field, value, id);
  CREATE TABLE consumers (
    name          TEXT    PRIMARY KEY,
    position      INTEGER NOT NULL DEFAULT 0,
    owner         TEXT    NOT NULL DEFAULT '',
    lease_expires INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  `,
  // Values every process on the file must share, created once (the page tokens' signing key).
  `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // Reactions: the event each reaction is working on (their checkpoints and leases are the consumers table above).
  REACTION_TABLES_SQL,
  // Read models' declared fields move from the side table into columns of the document's row.
  DOCUMENT_COLUMNS_SQL,
  // The trace context of the command or call that made a schedule, which its run continues.
  `ALTER TABLE schedules ADD COLUMN traceparent TEXT;`,
];

/** A stream's current revision (no row: the stream does not exist), for the reader and the writer. */
export const STREAM_REVISION_SQL = "SELECT revision FROM events WHERE tenant = ? AND stream_id = ? ORDER BY revision DESC LIMIT 1";

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema up to SCHEMA_VERSION inside one write transaction, so two processes
 * opening the same new file do not both migrate. Refuses a file from a newer version.
 */
export function migrate(db: Database.Database): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this build supports (${SCHEMA_VERSION})`);
    }
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    if (row === undefined) db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
    else if (current !== SCHEMA_VERSION) db.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** The journal, cache and durability settings of every store connection (the benchmark's raw ceiling uses them too). */
export function useStoreSettings(db: Database.Database, synchronous: "FULL" | "NORMAL"): void {
  db.pragma("journal_mode = WAL");
  // Room for the indexes' hot pages: SQLite's 2 MB default makes appends read pages back.
  db.pragma("cache_size = -65536");
  db.pragma(`synchronous = ${synchronous}`);
}
