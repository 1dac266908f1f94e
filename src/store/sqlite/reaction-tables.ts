/**
 * The reaction runner's tables (reactions/sqlite-ledger.ts), a schema migration step of their
 * own beside the consumers table (checkpoints and leases) that async projections and reactions
 * share: `reaction_marks` holds the event each reaction
 * is working on and how many of its effects are done.
 */
export const REACTION_TABLES_SQL = `
  CREATE TABLE reaction_marks (
    reaction   TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    done       INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (reaction, event_id)
  ) WITHOUT ROWID;
`;
