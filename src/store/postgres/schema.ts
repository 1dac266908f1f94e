import type pg from "pg";
import { REACTION_TABLES_SQL } from "./reaction-tables.js";

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
  // Scheduled commands (schedule-store.ts), times in ms since the epoch on the service's
  // clock. switchyard_append_batch_scheduled wraps the append function: in the same
  // transaction, it stores the schedules of each append that was appended. A new schedule
  // notifies the commit feed, so every replica's scheduler looks again at the next due time.
  `
  CREATE TABLE schedules (
    id             text    PRIMARY KEY,
    tenant         text    NOT NULL,
    command_type   text    NOT NULL,
    aggregate_id   text    NOT NULL,
    payload        json    NOT NULL,
    run_at         bigint  NOT NULL,
    identity       json    NOT NULL,
    correlation_id text    NOT NULL,
    causation_id   text    NOT NULL,
    created_at     bigint  NOT NULL,
    status         text    NOT NULL DEFAULT 'pending',
    attempts       integer NOT NULL DEFAULT 0,
    max_attempts   integer,
    claim          text,
    claim_owner    text,
    lease_until    bigint,
    last_error     text,
    outcome        json,
    finished_at    bigint
  );
  CREATE INDEX schedules_due ON schedules (run_at) WHERE status = 'pending';
  CREATE INDEX schedules_by_tenant ON schedules (tenant, status, id);
  CREATE TRIGGER schedules_notify_commit AFTER INSERT ON schedules FOR EACH STATEMENT EXECUTE FUNCTION switchyard_notify_commit();

  CREATE FUNCTION switchyard_append_batch_scheduled(batch jsonb) RETURNS json LANGUAGE plpgsql AS $fn$
  DECLARE
    outcomes json;
    a jsonb;
    i bigint;
  BEGIN
    outcomes := switchyard_append_batch(batch);
    FOR a, i IN SELECT value, ordinality - 1 FROM jsonb_array_elements(batch) WITH ORDINALITY LOOP
      IF a->'schedules' IS NOT NULL AND outcomes->(i::integer)->>'kind' = 'appended' THEN
        INSERT INTO schedules (id, tenant, command_type, aggregate_id, payload, run_at, identity, correlation_id, causation_id, created_at)
          SELECT s->>'id', a->>'tenant', s->>'commandType', s->>'aggregateId', (s->'payload')::json, (s->>'runAt')::bigint,
                 (s->'identity')::json, s->>'correlationId', s->>'causationId', (s->>'createdAt')::bigint
          FROM jsonb_array_elements(a->'schedules') AS s
          ON CONFLICT (id) DO NOTHING;
      END IF;
    END LOOP;
    RETURN outcomes;
  END
  $fn$;
  `,
  // Read models: documents per tenant and collection (jsonb), each declared field's value in a
  // side table (strings and numbers in columns of their own, strings compared bytewise as
  // SQLite does) whose indexes serve filters and keyset pages ordered by (value, id);
  // consumers' checkpoints with the lease that lets one replica run each. The append batch
  // checks and writes an append's documents under its savepoint (the two new functions, called
  // by the append function of the last step).
  `
  CREATE TABLE documents (
    tenant     text    NOT NULL,
    collection text    NOT NULL,
    id         text    COLLATE "C" NOT NULL,
    version    integer NOT NULL,
    data       jsonb   NOT NULL,
    PRIMARY KEY (tenant, collection, id)
  );
  CREATE TABLE document_fields (
    tenant     text NOT NULL,
    collection text NOT NULL,
    id         text COLLATE "C" NOT NULL,
    field      text NOT NULL,
    value_text text COLLATE "C",
    value_num  double precision,
    PRIMARY KEY (tenant, collection, id, field)
  );
  CREATE INDEX document_fields_by_text ON document_fields (tenant, collection, field, value_text, id) WHERE value_text IS NOT NULL;
  CREATE INDEX document_fields_by_number ON document_fields (tenant, collection, field, value_num, id) WHERE value_num IS NOT NULL;
  CREATE TABLE consumers (
    name          text        PRIMARY KEY,
    position      bigint      NOT NULL DEFAULT 0,
    owner         text        NOT NULL DEFAULT '',
    lease_expires timestamptz NOT NULL DEFAULT '-infinity'
  );

  -- The first document of an append whose version is not the one it was read at (absent
  -- expectedVersion: it must not exist), as {collection, id}; null when every one is.
  CREATE FUNCTION switchyard_document_clash(t text, docs jsonb) RETURNS json LANGUAGE sql AS $fn$
    SELECT json_build_object('collection', d->>'collection', 'id', d->>'id')
    FROM jsonb_array_elements(coalesce(docs, '[]'::jsonb)) WITH ORDINALITY AS x(d, n)
    WHERE coalesce((SELECT version FROM documents WHERE tenant = t AND collection = d->>'collection' AND id = d->>'id'), -1)
          <> coalesce((d->>'expectedVersion')::integer, -1)
    ORDER BY n LIMIT 1
  $fn$;

  -- Writes an append's documents (each a string of its JSON; null deletes) and their field values.
  CREATE FUNCTION switchyard_write_documents(t text, docs jsonb) RETURNS void LANGUAGE plpgsql AS $fn$
  DECLARE
    d jsonb;
  BEGIN
    FOR d IN SELECT value FROM jsonb_array_elements(coalesce(docs, '[]'::jsonb)) LOOP
      DELETE FROM document_fields WHERE tenant = t AND collection = d->>'collection' AND id = d->>'id';
      IF jsonb_typeof(d->'document') = 'null' THEN
        DELETE FROM documents WHERE tenant = t AND collection = d->>'collection' AND id = d->>'id';
        CONTINUE;
      END IF;
      INSERT INTO documents (tenant, collection, id, version, data) VALUES (t, d->>'collection', d->>'id', 1, (d->>'document')::jsonb)
        ON CONFLICT (tenant, collection, id) DO UPDATE SET version = documents.version + 1, data = excluded.data;
      INSERT INTO document_fields (tenant, collection, id, field, value_text, value_num)
        SELECT t, d->>'collection', d->>'id', f.key,
               CASE WHEN jsonb_typeof(f.value) = 'string' THEN f.value #>> '{}' END,
               CASE WHEN jsonb_typeof(f.value) = 'number' THEN (f.value #>> '{}')::double precision END
        FROM jsonb_each(d->'fields') AS f;
    END LOOP;
  END
  $fn$;
  `,
  // Values every replica on the database must share, created once (the page tokens' signing key).
  `CREATE TABLE settings (name text PRIMARY KEY, value text NOT NULL);`,
  // Reactions: the event each reaction is working on (their checkpoints and leases are the consumers table above).
  REACTION_TABLES_SQL,
  // Appends over several streams: an append's "otherStreams" are each guarded by their own
  // expected revision before anything is written, and their events follow the append's own,
  // so one command's events take consecutive positions. A conflict names the other stream.
  // The inline read models' documents are checked and written as before.
  `
  CREATE OR REPLACE FUNCTION switchyard_append_batch(batch jsonb) RETURNS json LANGUAGE plpgsql AS $fn$
  DECLARE
    a jsonb;
    o jsonb;
    e jsonb;
    actual integer;
    other_actual integer;
    conflict json;
    clash json;
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
        clash := switchyard_document_clash(a->>'tenant', a->'documents');
        IF clash IS NOT NULL THEN
          outcomes := outcomes || json_build_object('kind', 'conflict', 'actualRevision', actual, 'document', clash);
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
        PERFORM switchyard_write_documents(a->>'tenant', a->'documents');
        outcomes := outcomes || json_build_object('kind', 'appended', 'revision', rev, 'positions', to_json(positions));
      EXCEPTION WHEN OTHERS THEN
        outcomes := outcomes || json_build_object('kind', 'failed', 'code', SQLSTATE, 'message', SQLERRM);
      END;
    END LOOP;
    RETURN to_json(outcomes);
  END
  $fn$;
  `,
  // The trace context of the command or call that made a schedule, which its run continues;
  // the append's schedules keep theirs.
  `
  ALTER TABLE schedules ADD COLUMN traceparent text;
  CREATE OR REPLACE FUNCTION switchyard_append_batch_scheduled(batch jsonb) RETURNS json LANGUAGE plpgsql AS $fn$
  DECLARE
    outcomes json;
    a jsonb;
    i bigint;
  BEGIN
    outcomes := switchyard_append_batch(batch);
    FOR a, i IN SELECT value, ordinality - 1 FROM jsonb_array_elements(batch) WITH ORDINALITY LOOP
      IF a->'schedules' IS NOT NULL AND outcomes->(i::integer)->>'kind' = 'appended' THEN
        INSERT INTO schedules (id, tenant, command_type, aggregate_id, payload, run_at, identity, correlation_id, causation_id, created_at, traceparent)
          SELECT s->>'id', a->>'tenant', s->>'commandType', s->>'aggregateId', (s->'payload')::json, (s->>'runAt')::bigint,
                 (s->'identity')::json, s->>'correlationId', s->>'causationId', (s->>'createdAt')::bigint, s->>'traceparent'
          FROM jsonb_array_elements(a->'schedules') AS s
          ON CONFLICT (id) DO NOTHING;
      END IF;
    END LOOP;
    RETURN outcomes;
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
