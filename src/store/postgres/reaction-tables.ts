/**
 * The reaction runner's tables (reactions/postgres-ledger.ts), a schema migration step of their
 * own: `consumers` is the checkpoint-and-lease table async projections use, with the same
 * columns, so it is created only when absent; `reaction_marks` holds the event each reaction
 * is working on and how many of its effects are done.
 */
export const REACTION_TABLES_SQL = `
  CREATE TABLE IF NOT EXISTS consumers (
    name          text   PRIMARY KEY,
    position      bigint NOT NULL DEFAULT 0,
    owner         text   NOT NULL DEFAULT '',
    lease_expires bigint NOT NULL DEFAULT 0
  );
  CREATE TABLE reaction_marks (
    reaction   text    NOT NULL,
    event_id   text    NOT NULL,
    done       integer NOT NULL,
    started_at bigint  NOT NULL,
    PRIMARY KEY (reaction, event_id)
  );
`;
