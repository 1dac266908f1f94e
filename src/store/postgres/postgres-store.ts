import pg from "pg";
import type { RecordedEvent } from "../../kernel/events.js";
import {
  availabilityListeners,
  commitListeners,
  pageSize,
  StoreUnavailableError,
  type AppendOutcome,
  type AppendRequest,
  type DocumentWrite,
  type EventStore,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredSnapshot,
} from "../event-store.js";
import { groupCommit, type GroupCommitOptions, type Written } from "../group-commit.js";
import { PRUNE_CHUNK, startPruning } from "../pruning.js";
import { recordedEventOf, requestRecordOf, type EventRow as SqlEventRow, type RequestRow } from "../rows.js";
import { checkOut } from "./check-out.js";
import { reasonOfSqlState, storeErrorOf } from "./postgres-errors.js";
import { documentMethods } from "./documents.js";
import { COMMITS_CHANNEL, migrate } from "./schema.js";
import { postgresScheduleStore } from "./schedule-store.js";

/** How the PostgreSQL store is opened. */
export interface PostgresStoreOptions {
  /** A postgres:// URL, as pg reads it. */
  readonly connectionString: string;
  /** Most connections the store opens (reads and batches of appends share them). */
  readonly poolSize?: number;
  /**
   * How long a request record is kept, in ms (see SqliteStoreOptions): deleted by the
   * database's clock, so replicas with drifting clocks agree. Undefined or 0 keeps every one.
   */
  readonly requestRetentionMs?: number;
  /** Told when deleting expired request records starts failing (with why) and when it works again (undefined). */
  readonly onPruningFailure?: (failure: string | undefined) => void;
  /** Most appends committed together in one transaction. */
  readonly maxBatch?: number;
  /** Most batches out at the database at once; more wait in the queue. */
  readonly maxBatchesOut?: number;
  /** How often a store that lost the server tries it again, in ms (1,000 by default). */
  readonly probeEveryMs?: number;
  /** How long opening a connection may take, in ms (5,000 by default). */
  readonly connectTimeoutMs?: number;
  /**
   * How long a call waits for a lock, in ms (5,000 by default): a batch waiting for another
   * connection's append lock past it fails with STORE_BUSY, as SQLite's busy_timeout does.
   */
  readonly lockTimeoutMs?: number;
  /** How often the commit feed looks for new events even without a notification, in ms (1,000 by default). */
  readonly commitPollMs?: number;
  /** Told of every group-commit batch: its size and how long its commit took. */
  readonly onBatch?: GroupCommitOptions["onBatch"];
}

/** pg parses json columns and hands bigint back as a string. */
type EventRow = SqlEventRow<unknown, string>;

/** An append's outcome as switchyard_append_batch answers it. */
type BatchOutcome = AppendOutcome | { readonly kind: "failed"; readonly code: string; readonly message: string };

/** ReadAll's conditions: tenant, from position, and the optional bound, types and stream id prefix ($1–$5). */
const READ_ALL_FILTERS = `tenant = $1 AND position >= $2 AND ($3::bigint IS NULL OR position <= $3)
  AND ($4::text[] IS NULL OR type = ANY($4)) AND ($5::text IS NULL OR starts_with(stream_id, $5))`;

/** Named statements: pg prepares each once per connection and reuses it. */
const SQL = {
  append: { name: "switchyard_append", text: "SELECT switchyard_append_batch_scheduled($1::jsonb) AS outcomes" },
  revision: {
    name: "switchyard_revision",
    text: "SELECT revision FROM events WHERE tenant = $1 AND stream_id = $2 ORDER BY revision DESC LIMIT 1",
  },
  readStream: {
    name: "switchyard_read_stream",
    text: "SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE tenant = $1 AND stream_id = $2 AND revision >= $3 ORDER BY revision LIMIT $4",
  },
  // Each filter is skipped when its parameter is null, so one prepared statement serves every combination.
  readAll: {
    name: "switchyard_read_all",
    text: `SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE ${READ_ALL_FILTERS} ORDER BY position LIMIT $6`,
  },
  // The same, ended at maxChars ($7) by a running total of characters: every row before the bound's is under it.
  // Only consumers ask for it: the window sums every row's length, which a plain read need not pay.
  readAllWithinChars: {
    name: "switchyard_read_all_within_chars",
    text: `SELECT position, stream_id, revision, id, type, data, metadata FROM (
             SELECT position, stream_id, revision, id, type, data, metadata,
                    sum(length(data::text) + length(metadata::text)) OVER (ORDER BY position) - length(data::text) - length(metadata::text) AS before
             FROM events WHERE ${READ_ALL_FILTERS} ORDER BY position LIMIT $6) page
           WHERE before < $7
           ORDER BY position`,
  },
  head: { name: "switchyard_head", text: "SELECT coalesce(max(position), 0) AS head FROM events" },
  readAllTenants: {
    name: "switchyard_read_all_tenants",
    text: `SELECT tenant, position, stream_id, revision, id, type, data, metadata, size FROM (
             SELECT tenant, position, stream_id, revision, id, type, data, metadata, length(data::text) + length(metadata::text) AS size,
                    sum(length(data::text) + length(metadata::text)) OVER (ORDER BY position) AS running
             FROM events WHERE position >= $1 ORDER BY position LIMIT $2) page
           WHERE $3::bigint IS NULL OR running - size < $3
           ORDER BY position`,
  },
  // state as text: its length is the snapshot's size, and it is parsed once, here.
  snapshot: { name: "switchyard_snapshot", text: "SELECT revision, version, state::text AS state FROM snapshots WHERE tenant = $1 AND stream_id = $2" },
  request: {
    name: "switchyard_request",
    text: "SELECT request_id, command_type, aggregate_id, fingerprint, result, positions FROM requests WHERE tenant = $1 AND request_id = $2",
  },
  // The oldest records in arrival order, at most a chunk: a prune reads no more than it may delete.
  prune: {
    name: "switchyard_prune",
    text: `WITH oldest AS (SELECT seq, created_at FROM requests ORDER BY seq LIMIT ${PRUNE_CHUNK})
           DELETE FROM requests WHERE seq IN (SELECT seq FROM oldest WHERE created_at < now() - $1 * interval '1 millisecond')`,
  },
} as const;

/**
 * The scale-out event store on PostgreSQL: several service replicas share one database.
 * Appends go through the same group commit as SQLite's: those that arrive together are sent
 * as one JSON batch to `switchyard_append_batch` (schema.ts), one round trip and one commit
 * for all of them, each append in its own savepoint. Batches hold one advisory lock until
 * they commit, in every replica, so positions follow commit order and the revision guard
 * holds across replicas: the same optimistic concurrency as the embedded store. Reads go to
 * any pooled connection. `synchronous_commit` is the server's (on by default: an
 * acknowledged append has reached the server's disk).
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<EventStore> {
  // A connection attempt and a wait for a lock give up after 5 s (pg and PostgreSQL wait
  // forever by default), as SQLite's busy_timeout does.
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    lock_timeout: options.lockTimeoutMs ?? 5000,
  });
  let closed = false;
  const availability = availabilityListeners();
  /** Set while the server cannot be reached: from a call that found it so until a call or a probe gets through. */
  let probe: NodeJS.Timeout | undefined;

  /** The store error for a failed call; a server out of reach turns the store unavailable until it answers again. */
  function failed(error: unknown): unknown {
    const mapped = storeErrorOf(error);
    if (mapped instanceof StoreUnavailableError && mapped.reason === "STORE_UNREACHABLE" && !probe && !closed) {
      probe = setInterval(() => void pool.query("SELECT 1").then(answered, () => undefined), options.probeEveryMs ?? 1000).unref();
      availability.tell({ available: false, reason: mapped.message });
    }
    return mapped;
  }

  /** A call got through: if the server had been out of reach, the store is available again. */
  function answered(): void {
    if (!probe) return;
    clearInterval(probe);
    probe = undefined;
    availability.tell({ available: true });
  }

  // An idle connection the server dropped is an event on the pool, not a crash: the next
  // query opens another. A server that shuts down cuts the idle connections first, so a
  // query now tells whether it is gone: the service turns NOT_SERVING without traffic.
  pool.on("error", () => void pool.query("SELECT 1").then(answered, failed));
  try {
    const client = await checkOut(pool);
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  } catch (error) {
    closed = true;
    clearInterval(probe);
    await pool.end().catch(() => undefined);
    throw storeErrorOf(error);
  }

  const commits = commitListeners(() => listenForCommits(options, () => commits.tell()));
  const batches = groupCommit(commitBatch, { maxBatch: options.maxBatch ?? 32, maxBatchesOut: options.maxBatchesOut ?? 2, onBatch: options.onBatch });
  const stopPruning = options.requestRetentionMs
    ? startPruning(async () => (await pool.query({ ...SQL.prune, values: [options.requestRetentionMs] })).rowCount ?? 0, options.onPruningFailure)
    : undefined;

  /** One statement, so one transaction: the batch commits as a whole or, if the statement fails, not at all. */
  async function commitBatch(batch: string[]): Promise<Written[]> {
    let outcomes: BatchOutcome[];
    try {
      const result = await pool.query<{ outcomes: BatchOutcome[] }>({ ...SQL.append, values: [`[${batch.join(",")}]`] });
      outcomes = result.rows[0].outcomes;
    } catch (error) {
      throw failed(error);
    }
    answered();
    if (commits.watched) commits.tell();
    return outcomes.map((o): Written => {
      if (o.kind !== "failed") return { outcome: o };
      const known = reasonOfSqlState(o.code);
      return { failure: known ? { reason: known[0], message: `${known[1]}: ${o.message}` } : { message: o.message } };
    });
  }

  async function query<R extends pg.QueryResultRow>(statement: { name: string; text: string }, values: unknown[]): Promise<R[]> {
    if (closed) throw new StoreUnavailableError("STORE_CLOSED", "the event store is closed");
    let rows: R[];
    try {
      rows = (await pool.query<R>({ ...statement, values })).rows;
    } catch (error) {
      throw failed(error);
    }
    answered();
    return rows;
  }

  return {
    append(request) {
      if (closed) return Promise.reject(new StoreUnavailableError("STORE_CLOSED", "the event store is closed"));
      let write: string;
      let snapshotSize: number | undefined;
      try {
        [write, snapshotSize] = batchEntry(request);
      } catch (error) {
        return Promise.reject(error);
      }
      if (snapshotSize === undefined) return batches.submit(write);
      return batches.submit(write, (outcome) => (outcome.kind === "appended" ? { ...outcome, snapshotSize } : outcome));
    },
    async readStream(tenant, streamId, options: ReadStreamOptions = {}) {
      const rows = await query<EventRow>(SQL.readStream, [tenant, streamId, Math.max(1, options.fromRevision ?? 1), pageSize(options.maxCount)]);
      return rows.map(toRecorded);
    },
    async readAll(tenant, options: ReadAllOptions = {}) {
      const values: unknown[] = [
        tenant,
        Math.max(1, options.fromPosition ?? 1),
        options.toPosition ?? null,
        options.eventTypes?.length ? options.eventTypes : null,
        options.streamIdPrefix || null,
        pageSize(options.maxCount),
      ];
      const rows = options.maxChars === undefined ? await query<EventRow>(SQL.readAll, values) : await query<EventRow>(SQL.readAllWithinChars, [...values, options.maxChars]);
      return rows.map(toRecorded);
    },
    async headPosition() {
      const [row] = await query<{ head: string }>(SQL.head, []);
      return Number(row.head);
    },
    async readAllTenants({ fromPosition, maxCount, maxChars }) {
      const rows = await query<EventRow & { tenant: string; size: number }>(SQL.readAllTenants, [Math.max(1, fromPosition), pageSize(maxCount), maxChars ?? null]);
      return rows.map((row) => ({ tenant: row.tenant, event: toRecorded(row), size: row.size }));
    },
    watchCommits: commits.watch,
    async streamRevision(tenant, streamId) {
      const rows = await query<{ revision: number }>(SQL.revision, [tenant, streamId]);
      return rows[0]?.revision ?? 0;
    },
    async loadSnapshot(tenant, streamId) {
      const [row] = await query<{ revision: number; version: number; state: string }>(SQL.snapshot, [tenant, streamId]);
      return row && ({ revision: row.revision, version: row.version, state: JSON.parse(row.state), size: row.state.length } satisfies StoredSnapshot);
    },
    async findRequest(tenant, requestId) {
      const [row] = await query<RequestRow<unknown, string[]>>(SQL.request, [tenant, requestId]);
      return row && requestRecordOf(row, row.result, row.positions.map(Number));
    },
    ...documentMethods(pool, query, failed),
    watchAvailability: availability.watch,
    schedules: postgresScheduleStore((statement, values) => query(statement, values)),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(probe);
      // What was appended before close is still written.
      await batches.settle();
      await stopPruning?.();
      await pool.end();
    },
  };
}

/**
 * Listens on COMMITS_CHANNEL on a connection of its own (LISTEN holds it), calling `tell` for
 * each notification, and every `commitPollMs` in any case: notifications are lost while the
 * connection is down, and it is opened again after a failure. Returns the function that stops.
 */
function listenForCommits(options: PostgresStoreOptions, tell: () => void): () => void {
  let client: pg.Client | undefined;
  let stopped = false;
  const connect = async () => {
    const next = new pg.Client({ connectionString: options.connectionString, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000 });
    next.on("notification", tell);
    next.on("error", () => {
      if (client === next) client = undefined;
      void next.end().catch(() => undefined);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${COMMITS_CHANNEL}`);
    } catch {
      await next.end().catch(() => undefined);
      return;
    }
    if (stopped) await next.end().catch(() => undefined);
    else client = next;
  };
  let connecting: Promise<void> | undefined = connect().finally(() => (connecting = undefined));
  const timer = setInterval(() => {
    tell();
    if (!client && !connecting && !stopped) connecting = connect().finally(() => (connecting = undefined));
  }, options.commitPollMs ?? 1000);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
    void client?.end().catch(() => undefined);
    client = undefined;
  };
}

/**
 * One append as an element of the batch's jsonb array, and the length of its snapshot's JSON.
 * Serialized here, on the caller's turn, so a value JSON cannot hold fails this append alone
 * before anything is queued. Data, metadata, results and states go in as strings of their
 * JSON, which the function casts to json columns, keeping their text (jsonb would reorder it).
 */
function batchEntry(request: AppendRequest): [entry: string, snapshotSize: number | undefined] {
  const { events, request: record, snapshot } = request;
  // Each string alone: joined, a lone high surrogate at the end of one and a lone low one at
  // the start of the next would pass as a pair.
  textual("the tenant", request.tenant);
  textual("the stream id", request.streamId);
  for (const e of events) {
    textual(`event ${e.id}: its id`, e.id);
    textual(`event ${e.id}: its type`, e.type);
  }
  if (record) {
    for (const field of ["requestId", "commandType", "aggregateId", "fingerprint"] as const) textual(`the request record's ${field}`, record[field]);
  }
  // A command's events share one metadata object: it is serialized once.
  let metadata: unknown;
  let metadataJson = "";
  const eventsJson = (list: AppendRequest["events"]) =>
    list.map((e) => {
      if (e.metadata !== metadata) [metadata, metadataJson] = [e.metadata, JSON.stringify(json(e.metadata, `event ${e.id}: metadata`))];
      return `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"data":${JSON.stringify(json(e.data, `event ${e.id}: data`))},"metadata":${metadataJson}}`;
    });
  let entry = `{"tenant":${JSON.stringify(request.tenant)},"streamId":${JSON.stringify(request.streamId)},"expectedRevision":${Number(request.expectedRevision)},"events":[${eventsJson(events).join(",")}]`;
  if (request.otherStreams?.length) {
    const others = request.otherStreams.map((other) => {
      textual("an other stream's id", other.streamId);
      for (const e of other.events) {
        textual(`event ${e.id}: its id`, e.id);
        textual(`event ${e.id}: its type`, e.type);
      }
      const saved = other.snapshot;
      const snapshotJson = saved
        ? `,"snapshot":{"revision":${Number(saved.revision)},"version":${Number(saved.version)},"state":${JSON.stringify(json(saved.state, "the snapshot's state"))}}`
        : "";
      return `{"streamId":${JSON.stringify(other.streamId)},"expectedRevision":${Number(other.expectedRevision)},"events":[${eventsJson(other.events).join(",")}]${snapshotJson}}`;
    });
    entry += `,"otherStreams":[${others.join(",")}]`;
  }
  if (request.documents?.length) entry += `,"documents":${documentsJson(request.documents)}`;
  if (record) {
    const { requestId, commandType, aggregateId, fingerprint, result } = record;
    entry += `,"request":${JSON.stringify({ requestId, commandType, aggregateId, fingerprint, result: json(result, "the request's result") })}`;
  }
  if (request.schedules?.length) entry += `,"schedules":${json(request.schedules, "the schedules")}`;
  if (!snapshot) return [`${entry}}`, undefined];
  const state = json(snapshot.state, "the snapshot's state");
  return [`${entry},"snapshot":{"revision":${Number(snapshot.revision)},"version":${Number(snapshot.version)},"state":${JSON.stringify(state)}}}`, state.length];
}

/**
 * Documents as the append batch and switchyard_write_documents read them: each document's
 * JSON as a string, cast to jsonb under the append's savepoint, so one jsonb refuses fails
 * that append alone; names and string values checked as the append's other strings are.
 */
function documentsJson(documents: readonly DocumentWrite[]): string {
  const entries = documents.map((d) => {
    textual(`document ${d.collection}/${d.id}: its collection`, d.collection);
    textual(`document ${d.collection}/${d.id}: its id`, d.id);
    for (const [field, value] of Object.entries(d.fields)) {
      textual(`document ${d.collection}/${d.id}: field name`, field);
      if (typeof value === "string") textual(`document ${d.collection}/${d.id}: field ${field}`, value);
    }
    return `{"collection":${JSON.stringify(d.collection)},"id":${JSON.stringify(d.id)},"expectedVersion":${d.expectedVersion ?? null},"document":${d.document === null || d.document === undefined ? "null" : JSON.stringify(json(d.document, `document ${d.collection}/${d.id}`))},"fields":${JSON.stringify(d.fields)}}`;
  });
  return `[${entries.join(",")}]`;
}

/**
 * The batch is parsed as jsonb, which refuses a NUL character and a lone surrogate: one in
 * a string that goes into a text column as it is would fail every append of the batch. It
 * fails this append alone, here. (JSON values go in as strings of their JSON, with such
 * characters escaped.)
 */
function textual(what: string, text: string): void {
  if (/\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) {
    throw new TypeError(`${what}: a NUL character or a lone UTF-16 surrogate, which PostgreSQL text cannot hold`);
  }
}

/** A value's JSON; throws when JSON cannot hold it (undefined, a function; JSON.stringify itself throws for a BigInt). */
function json(value: unknown, what: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${what} is not a JSON value`);
  return text;
}

function toRecorded(row: EventRow): RecordedEvent {
  return recordedEventOf(row, Number(row.position), row.data, row.metadata as RecordedEvent["metadata"]);
}
