import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { RecordedEvent } from "../../kernel/events.js";
import {
  pageSize,
  StoreUnavailableError,
  type AppendOutcome,
  type AppendRequest,
  type EventStore,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RequestRecord,
  type Snapshot,
} from "../event-store.js";
import { migrate } from "./schema.js";
import { storeErrorOf } from "./sqlite-errors.js";

/** How the SQLite store is opened. */
export interface SqliteStoreOptions {
  /** A file path, or ":memory:". */
  readonly path: string;
  /** FULL survives power loss; NORMAL survives a process crash only. */
  readonly synchronous?: "FULL" | "NORMAL";
  /** How long a writer waits for another process's write lock, in ms. */
  readonly busyTimeoutMs?: number;
  /** Most appends committed together in one transaction. */
  readonly maxBatch?: number;
  /** Called with the batch size just before COMMIT; tests inject crashes here. */
  readonly beforeCommit?: (appends: number) => void;
}

interface EventRow {
  position: number;
  stream_id: string;
  revision: number;
  id: string;
  type: string;
  data: string;
  metadata: string;
}

interface Pending {
  readonly request: AppendRequest;
  readonly resolve: (outcome: AppendOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** Thrown inside a savepoint to undo one append whose request id another append took. */
const REQUEST_TAKEN = Symbol("request-taken");

/**
 * The embedded event store on better-sqlite3: WAL, BEGIN IMMEDIATE writes, busy_timeout for
 * a second process on the same file, and group commit: appends that arrive in the same
 * turn of the event loop share one transaction (one fsync), each inside its own savepoint
 * so a conflict or failure of one leaves its neighbours untouched. No append resolves
 * before its transaction has committed.
 */
export function openSqliteStore(options: SqliteStoreOptions): EventStore {
  const db = openDatabase(options);
  const maxBatch = options.maxBatch ?? 256;

  const sql = {
    revision: db.prepare("SELECT revision FROM events WHERE tenant = ? AND stream_id = ? ORDER BY revision DESC LIMIT 1").pluck(),
    insertEvent: db.prepare(
      "INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    readStream: db.prepare(
      "SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE tenant = ? AND stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?",
    ),
    readAll: db.prepare(
      "SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE tenant = ? AND position >= ? ORDER BY position LIMIT ?",
    ),
    readAllOfTypes: db.prepare(
      "SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE tenant = ? AND position >= ? AND type IN (SELECT value FROM json_each(?)) ORDER BY position LIMIT ?",
    ),
    snapshot: db.prepare("SELECT revision, version, state FROM snapshots WHERE tenant = ? AND stream_id = ?"),
    saveSnapshot: db.prepare(
      "INSERT INTO snapshots (tenant, stream_id, revision, version, state) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, stream_id) DO UPDATE SET revision = excluded.revision, version = excluded.version, state = excluded.state",
    ),
    request: db.prepare("SELECT request_id, command_type, aggregate_id, fingerprint, result FROM requests WHERE tenant = ? AND request_id = ?"),
    insertRequest: db.prepare(
      "INSERT INTO requests (tenant, request_id, command_type, aggregate_id, fingerprint, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT one_append"),
    release: db.prepare("RELEASE one_append"),
    rollbackTo: db.prepare("ROLLBACK TO one_append"),
  };

  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  /** When the current batch first found the write lock taken by another process. */
  let lockWaitSince: number | undefined;
  let queue: Pending[] = [];
  let flushScheduled = false;
  let closed = false;

  /** Writes one append inside the open transaction; throws to have its savepoint undone. */
  function writeOne(request: AppendRequest): AppendOutcome {
    const { tenant, streamId, expectedRevision, events } = request;
    const actualRevision = (sql.revision.get(tenant, streamId) as number | undefined) ?? 0;
    if (actualRevision !== expectedRevision) return { kind: "conflict", actualRevision };
    const positions: number[] = [];
    let revision = expectedRevision;
    for (const e of events) {
      revision += 1;
      const row = sql.insertEvent.run(tenant, streamId, revision, e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata));
      positions.push(Number(row.lastInsertRowid));
    }
    const appended = { revision, positions };
    if (request.request) {
      const record = request.request(appended);
      try {
        sql.insertRequest.run(tenant, record.requestId, record.commandType, record.aggregateId, record.fingerprint, JSON.stringify(record.result), new Date().toISOString());
      } catch (error) {
        if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw REQUEST_TAKEN;
        throw error;
      }
    }
    const snapshot = request.snapshot?.(appended);
    if (snapshot) sql.saveSnapshot.run(tenant, streamId, snapshot.revision, snapshot.version, JSON.stringify(snapshot.state));
    return { kind: "appended", ...appended };
  }

  /** Commits every queued append in one transaction, each isolated by a savepoint. */
  function flush(): void {
    flushScheduled = false;
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
    if (queue.length > 0) scheduleFlush();

    try {
      sql.begin.run();
      lockWaitSince = undefined;
    } catch (error) {
      // Another process holds the write lock. SQLite's own wait blocks the event loop, so it
      // is kept short; the rest of the wait happens here, between turns, until busyTimeoutMs.
      const busy = (error as { code?: string }).code?.startsWith("SQLITE_BUSY");
      lockWaitSince ??= Date.now();
      if (busy && Date.now() - lockWaitSince < busyTimeoutMs) {
        queue = [...batch, ...queue];
        if (!flushScheduled) {
          flushScheduled = true;
          setTimeout(flush, 2 + Math.random() * 8);
        }
        return;
      }
      lockWaitSince = undefined;
      for (const p of batch) p.reject(storeErrorOf(error));
      return;
    }
    const settled: Array<{ outcome?: AppendOutcome; error?: unknown }> = [];
    try {
      for (const p of batch) {
        sql.savepoint.run();
        try {
          const outcome = writeOne(p.request);
          if (outcome.kind !== "appended") sql.rollbackTo.run();
          settled.push({ outcome });
        } catch (error) {
          sql.rollbackTo.run();
          settled.push(error === REQUEST_TAKEN ? { outcome: { kind: "request-taken" } } : { error: storeErrorOf(error) });
        }
        sql.release.run();
      }
      options.beforeCommit?.(batch.length);
      sql.commit.run();
    } catch (error) {
      // The transaction itself failed (disk full, I/O error, lost lock): nothing of the
      // batch is kept, so no append in it may be acknowledged.
      rollbackQuietly();
      for (const p of batch) p.reject(storeErrorOf(error));
      return;
    }
    batch.forEach((p, i) => {
      const { outcome, error } = settled[i];
      if (outcome) p.resolve(outcome);
      else p.reject(error);
    });
  }

  /** Ends a failed transaction; SQLite may already have rolled it back itself. */
  function rollbackQuietly(): void {
    try {
      if (db.inTransaction) sql.rollback.run();
    } catch {
      // Nothing left to undo: the transaction is gone either way.
    }
  }

  function scheduleFlush(): void {
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  /** Runs a read, turning SQLite's failures into StoreUnavailableError. */
  function read<T>(run: () => T): Promise<T> {
    try {
      return Promise.resolve(run());
    } catch (error) {
      return Promise.reject(storeErrorOf(error));
    }
  }

  return {
    append(request) {
      if (closed) return Promise.reject(new StoreUnavailableError("STORE_CLOSED", "the event store is closed"));
      return new Promise<AppendOutcome>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        scheduleFlush();
      });
    },
    readStream(tenant, streamId, options: ReadStreamOptions = {}) {
      return read(() =>
        (sql.readStream.all(tenant, streamId, Math.max(1, options.fromRevision ?? 1), pageSize(options.maxCount)) as EventRow[]).map(toRecorded),
      );
    },
    readAll(tenant, options: ReadAllOptions = {}) {
      const from = Math.max(1, options.fromPosition ?? 1);
      const limit = pageSize(options.maxCount);
      return read(() => {
        const rows = options.eventTypes?.length
          ? sql.readAllOfTypes.all(tenant, from, JSON.stringify(options.eventTypes), limit)
          : sql.readAll.all(tenant, from, limit);
        return (rows as EventRow[]).map(toRecorded);
      });
    },
    streamRevision(tenant, streamId) {
      return read(() => (sql.revision.get(tenant, streamId) as number | undefined) ?? 0);
    },
    loadSnapshot(tenant, streamId) {
      return read(() => {
        const row = sql.snapshot.get(tenant, streamId) as { revision: number; version: number; state: string } | undefined;
        return row && ({ revision: row.revision, version: row.version, state: JSON.parse(row.state) } satisfies Snapshot);
      });
    },
    findRequest(tenant, requestId) {
      return read(() => {
        const row = sql.request.get(tenant, requestId) as
          | { request_id: string; command_type: string; aggregate_id: string; fingerprint: string; result: string }
          | undefined;
        return (
          row &&
          ({
            requestId: row.request_id,
            commandType: row.command_type,
            aggregateId: row.aggregate_id,
            fingerprint: row.fingerprint,
            result: JSON.parse(row.result),
          } satisfies RequestRecord)
        );
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (queue.length > 0) flush();
      db.close();
    },
  };
}

/** Opens (creating if needed) and migrates the database, with WAL and the chosen durability. */
function openDatabase(options: SqliteStoreOptions): Database.Database {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(options.path);
    const busyTimeoutMs = Math.trunc(options.busyTimeoutMs ?? 5000);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma("journal_mode = WAL");
    // Room for the indexes' hot pages: SQLite's 2 MB default makes appends read pages back.
    db.pragma("cache_size = -65536");
    db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    migrate(db);
    // From now on a short wait inside SQLite (it blocks the event loop); writers wait longer
    // between turns of the loop, in flush().
    db.pragma(`busy_timeout = ${Math.min(busyTimeoutMs, 20)}`);
    return db;
  } catch (error) {
    db?.close();
    throw storeErrorOf(error, options.path);
  }
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
  };
}
