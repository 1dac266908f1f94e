import type pg from "pg";

/**
 * The advisory lock every batch of appends holds until it commits, in every process on the
 * database: batches commit one at a time, so global positions are handed out in commit
 * order (a reader paging by position never passes an event that commits later with a lower
 * one), and a batch's revision and request-id checks cannot race another writer's.
 */
export const APPEND_LOCK = 5_310_212_001;
/** Held while the schema is brought up to date, so two replicas starting together do not both migrate. */
const MIGRATE_LOCK = 5_310_212_002;

/**
 * Schema migrations, applied in order on open. Index i holds the step from version i to
 * version i+1; never edit a shipped step, append a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE events (
    position  bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant    text    NOT NULL,
    stream_id text    NOT NULL,
    revision  integer NOT NULL CHECK (revision >= 1),
    id        text    NOT NULL CONSTRAINT events_id_unique UNIQUE,
    type      text    NOT NULL,
    data      json    NOT NULL,
    metadata  json    NOT NULL,
    CONSTRAINT events_stream_revision_unique UNIQUE (tenant, stream_id, revision)
  );
  CREATE INDEX events_by_tenant ON events (tenant, position);
  CREATE TABLE snapshots (
    tenant    text    NOT NULL,
    stream_id text    NOT NULL,
    revision  integer NOT NULL,
    version   integer NOT NULL,
    state     json    NOT NULL,
    PRIMARY KEY (tenant, stream_id)
  );
  CREATE TABLE requests (
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant       text        NOT NULL,
    request_id   text        NOT NULL,
    command_type text        NOT NULL,
    aggregate_id text        NOT NULL,
    fingerprint  text        NOT NULL,
    result       json        NOT NULL,
    positions    bigint[]    NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT requests_id_unique UNIQUE (tenant, request_id)
  );

  -- Commits a batch of appends (a jsonb array, see batchEntry in postgres-store.ts) in the
  -- calling statement's transaction, and answers one outcome per append, in order. Data,
  -- metadata, results and states arrive as strings of their JSON and are cast to json here,
  -- which keeps their text as it was written (jsonb would reorder it). Each append runs
  -- in a block of its own (a savepoint): one that fails partway is undone alone and answered
  -- as failed, and the others commit. Everything that turns an append away (the revision
  -- guard, a request id already taken) is checked before its first write.
  CREATE FUNCTION switchyard_append_batch(batch jsonb) RETURNS json LANGUAGE plpgsql AS $fn$
  DECLARE
    a jsonb;
    e jsonb;
    actual integer;
    rev integer;
    pos bigint;
    positions bigint[];
    outcomes json[] := ARRAY[]::json[];
  BEGIN
    PERFORM pg_advisory_xact_lock(${APPEND_LOCK});
    FOR a IN SELECT value FROM jsonb_array_elements(batch) LOOP
      BEGIN
        SELECT revision INTO actual FROM events
          WHERE tenant = a->>'tenant' AND stream_id = a->>'streamId' ORDER BY revision DESC LIMIT 1;
        actual := coalesce(actual, 0);
        IF actual <> (a->>'expectedRevision')::integer THEN
          outcomes := outcomes || json_build_object('kind', 'conflict', 'actualRevision', actual);
          CONTINUE;
        END IF;
        IF a->'request' IS NOT NULL
          AND EXISTS (SELECT 1 FROM requests WHERE tenant = a->>'tenant' AND request_id = a->'request'->>'requestId') THEN
          outcomes := outcomes || json_build_object('kind', 'request-taken');
          CONTINUE;
        END IF;
        rev := actual;
        positions := ARRAY[]::bigint[];
        FOR e IN SELECT value FROM jsonb_array_elements(a->'events') LOOP
          rev := rev + 1;
          INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata)
            VALUES (a->>'tenant', a->>'streamId', rev, e->>'id', e->>'type', (e->>'data')::json, (e->>'metadata')::json)
            RETURNING position INTO pos;
          positions := positions || pos;
        END LOOP;
        IF a->'request' IS NOT NULL THEN
          INSERT INTO requests (tenant, request_id, command_type, aggregate_id, fingerprint, result, positions)
            VALUES (a->>'tenant', a->'request'->>'requestId', a->'request'->>'commandType', a->'request'->>'aggregateId',
                    a->'request'->>'fingerprint', (a->'request'->>'result')::json, positions);
        END IF;
        IF a->'snapshot' IS NOT NULL THEN
          INSERT INTO snapshots (tenant, stream_id, revision, version, state)
            VALUES (a->>'tenant', a->>'streamId', (a->'snapshot'->>'revision')::integer, (a->'snapshot'->>'version')::integer, (a->'snapshot'->>'state')::json)
            ON CONFLICT (tenant, stream_id)
            DO UPDATE SET revision = excluded.revision, version = excluded.version, state = excluded.state;
        END IF;
        outcomes := outcomes || json_build_object('kind', 'appended', 'revision', rev, 'positions', to_json(positions));
      EXCEPTION WHEN OTHERS THEN
        outcomes := outcomes || json_build_object('kind', 'failed', 'code', SQLSTATE, 'message', SQLERRM);
      END;
    END LOOP;
    RETURN to_json(outcomes);
  END
  $fn$;
  `,
  // The commit feed across replicas: every transaction that writes events notifies
  // COMMITS_CHANNEL as it commits (PostgreSQL folds a transaction's equal notifications into one).
  `
  CREATE FUNCTION switchyard_notify_commit() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM pg_notify('${"switchyard_commits"}', '');
    RETURN NULL;
  END
  $fn$;
  CREATE TRIGGER events_notify_commit AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION switchyard_notify_commit();
  `,
  // Appends over several streams: an append's "otherStreams" are each guarded by their own
  // expected revision before anything is written, and their events follow the append's own,
  // so one command's events take consecutive positions. A conflict names the other stream.
  `
  CREATE OR REPLACE FUNCTION switchyard_append_batch(batch jsonb) RETURNS json LANGUAGE plpgsql AS $fn$
  DECLARE
    a jsonb;
    o jsonb;
    e jsonb;
    actual integer;
    other_actual integer;
    conflict json;
    rev integer;
    pos bigint;
    positions bigint[];
    outcomes json[] := ARRAY[]::json[];
  BEGIN
    PERFORM pg_advisory_xact_lock(${APPEND_LOCK});
    FOR a IN SELECT value FROM jsonb_array_elements(batch) LOOP
      BEGIN
        SELECT revision INTO actual FROM events
          WHERE tenant = a->>'tenant' AND stream_id = a->>'streamId' ORDER BY revision DESC LIMIT 1;
        actual := coalesce(actual, 0);
        IF actual <> (a->>'expectedRevision')::integer THEN
          outcomes := outcomes || json_build_object('kind', 'conflict', 'actualRevision', actual);
          CONTINUE;
        END IF;
        conflict := NULL;
        FOR o IN SELECT value FROM jsonb_array_elements(coalesce(a->'otherStreams', '[]'::jsonb)) LOOP
          other_actual := NULL;
          SELECT revision INTO other_actual FROM events
            WHERE tenant = a->>'tenant' AND stream_id = o->>'streamId' ORDER BY revision DESC LIMIT 1;
          other_actual := coalesce(other_actual, 0);
          IF other_actual <> (o->>'expectedRevision')::integer THEN
            conflict := json_build_object('kind', 'conflict', 'actualRevision', other_actual, 'streamId', o->>'streamId');
            EXIT;
          END IF;
        END LOOP;
        IF conflict IS NOT NULL THEN
          outcomes := outcomes || conflict;
          CONTINUE;
        END IF;
        IF a->'request' IS NOT NULL
          AND EXISTS (SELECT 1 FROM requests WHERE tenant = a->>'tenant' AND request_id = a->'request'->>'requestId') THEN
          outcomes := outcomes || json_build_object('kind', 'request-taken');
          CONTINUE;
        END IF;
        rev := actual;
        positions := ARRAY[]::bigint[];
        FOR e IN SELECT value FROM jsonb_array_elements(a->'events') LOOP
          rev := rev + 1;
          INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata)
            VALUES (a->>'tenant', a->>'streamId', rev, e->>'id', e->>'type', (e->>'data')::json, (e->>'metadata')::json)
            RETURNING position INTO pos;
          positions := positions || pos;
        END LOOP;
        FOR o IN SELECT value FROM jsonb_array_elements(coalesce(a->'otherStreams', '[]'::jsonb)) LOOP
          other_actual := (o->>'expectedRevision')::integer;
          FOR e IN SELECT value FROM jsonb_array_elements(o->'events') LOOP
            other_actual := other_actual + 1;
            INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata)
              VALUES (a->>'tenant', o->>'streamId', other_actual, e->>'id', e->>'type', (e->>'data')::json, (e->>'metadata')::json)
              RETURNING position INTO pos;
            positions := positions || pos;
          END LOOP;
          IF o->'snapshot' IS NOT NULL THEN
            INSERT INTO snapshots (tenant, stream_id, revision, version, state)
              VALUES (a->>'tenant', o->>'streamId', (o->'snapshot'->>'revision')::integer, (o->'snapshot'->>'version')::integer, (o->'snapshot'->>'state')::json)
              ON CONFLICT (tenant, stream_id)
              DO UPDATE SET revision = excluded.revision, version = excluded.version, state = excluded.state;
          END IF;
        END LOOP;
        IF a->'request' IS NOT NULL THEN
          INSERT INTO requests (tenant, request_id, command_type, aggregate_id, fingerprint, result, positions)
            VALUES (a->>'tenant', a->'request'->>'requestId', a->'request'->>'commandType', a->'request'->>'aggregateId',
                    a->'request'->>'fingerprint', (a->'request'->>'result')::json, positions);
        END IF;
        IF a->'snapshot' IS NOT NULL THEN
          INSERT INTO snapshots (tenant, stream_id, revision, version, state)
            VALUES (a->>'tenant', a->>'streamId', (a->'snapshot'->>'revision')::integer, (a->'snapshot'->>'version')::integer, (a->'snapshot'->>'state')::json)
            ON CONFLICT (tenant, stream_id)
            DO UPDATE SET revision = excluded.revision, version = excluded.version, state = excluded.state;
        END IF;
        outcomes := outcomes || json_build_object('kind', 'appended', 'revision', rev, 'positions', to_json(positions));
      EXCEPTION WHEN OTHERS THEN
        outcomes := outcomes || json_build_object('kind', 'failed', 'code', SQLSTATE, 'message', SQLERRM);
      END;
    END LOOP;
    RETURN to_json(outcomes);
  END
  $fn$;
  `,
];

/** The channel the events trigger notifies on each commit that wrote events. */
export const COMMITS_CHANNEL = "switchyard_commits";

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema up to SCHEMA_VERSION inside one transaction that holds the migration
 * lock, so replicas starting together migrate once. Refuses a database from a newer version.
 */
export async function migrate(client: pg.ClientBase): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATE_LOCK})`);
    await client.query("CREATE TABLE IF NOT EXISTS switchyard_schema_version (version integer NOT NULL)");
    const row = (await client.query<{ version: number }>("SELECT version FROM switchyard_schema_version")).rows[0];
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this build supports (${SCHEMA_VERSION})`);
    }
    for (let v = current; v < SCHEMA_VERSION; v++) await client.query(MIGRATIONS[v]);
    if (row === undefined) await client.query("INSERT INTO switchyard_schema_version (version) VALUES ($1)", [SCHEMA_VERSION]);
    else if (current !== SCHEMA_VERSION) await client.query("UPDATE switchyard_schema_version SET version = $1", [SCHEMA_VERSION]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
