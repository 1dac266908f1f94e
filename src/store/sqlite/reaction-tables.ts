/**
 * The reaction runner's tables (reactions/sqlite-ledger.ts), a schema migration step of their
 * own. `consumers` is the checkpoint-and-lease table async projections use, with the same
 * columns, so it is created only when absent; `reaction_marks` holds the event each reaction
 * is working on and how many of its effects are done.
 */
export const REACTION_TABLES_SQL = `
  CREATE TABLE IF NOT EXISTS consumers (
    name          TEXT    PRIMARY KEY,
    position      INTEGER NOT NULL DEFAULT 0,
    owner         TEXT    NOT NULL DEFAULT '',
    lease_expires INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE TABLE reaction_marks (
    reaction   TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    done       INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (reaction, event_id)
  ) WITHOUT ROWID;
`;
