/**
 * The reaction runner's tables (reactions/postgres-ledger.ts), a schema migration step of their
 * own beside the consumers table (checkpoints and leases) that async projections and reactions share:
 * `reaction_marks` holds the event each reaction
 * is working on and how many of its effects are done.
 */
export const REACTION_TABLES_SQL = `
  CREATE TABLE reaction_marks (
    reaction   text    NOT NULL,
    event_id   text    NOT NULL,
    done       integer NOT NULL,
    started_at bigint  NOT NULL,
    PRIMARY KEY (reaction, event_id)
  );
`;
