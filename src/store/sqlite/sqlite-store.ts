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

/** How one append of a batch ended, kept until the batch's COMMIT decides whether it counts. */
interface Settled {
  readonly outcome?: AppendOutcome;
  readonly error?: unknown;
}

/**
 * The embedded event store on better-sqlite3: WAL, BEGIN IMMEDIATE writes, busy_timeout for
 * a second process on the same file, and group commit: appends that arrive in the same
 * turn of the event loop share one transaction (one fsync), and a conflict or failure of
 * one leaves its neighbours untouched (see flush). No append resolves before its
 * transaction has committed.
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
    requestTaken: db.prepare("SELECT 1 FROM requests WHERE tenant = ? AND request_id = ?").pluck(),
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

  /**
   * Writes one append inside the open transaction. Everything that turns an append away (the
   * revision guard, a request id already taken, data JSON cannot hold) is checked before its
   * first write, so a turned-away append leaves nothing behind and needs no savepoint.
   */
  function writeOne(request: AppendRequest, createdAt: string): AppendOutcome {
    const { tenant, streamId, expectedRevision, events, request: record } = request;
    const actualRevision = (sql.revision.get(tenant, streamId) as number | undefined) ?? 0;
    if (actualRevision !== expectedRevision) return { kind: "conflict", actualRevision };
    if (record && sql.requestTaken.get(tenant, record.requestId) !== undefined) return { kind: "request-taken" };
    const rows = events.map((e) => [e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)] as const);
    const positions: number[] = [];
    let revision = expectedRevision;
    for (const [id, type, data, metadata] of rows) {
      positions.push(Number(sql.insertEvent.run(tenant, streamId, ++revision, id, type, data, metadata).lastInsertRowid));
    }
    const appended = { revision, positions };
    if (record) {
      const result = JSON.stringify(record.result(appended));
      sql.insertRequest.run(tenant, record.requestId, record.commandType, record.aggregateId, record.fingerprint, result, createdAt);
    }
    const snapshot = request.snapshot?.(appended);
    if (snapshot) sql.saveSnapshot.run(tenant, streamId, snapshot.revision, snapshot.version, JSON.stringify(snapshot.state));
    return { kind: "appended", ...appended };
  }

  /** writeOne inside its own savepoint: a failure partway undoes this append alone. */
  function writeIsolated(request: AppendRequest, createdAt: string): Settled {
    sql.savepoint.run();
    try {
      const outcome = writeOne(request, createdAt);
      sql.release.run();
      return { outcome };
    } catch (error) {
      // Some failures (disk full, I/O) end the whole transaction: then the batch fails.
      if (!db.inTransaction) throw error;
      sql.rollbackTo.run();
      sql.release.run();
      return { error: storeErrorOf(error) };
    }
  }

  /**
   * Commits every queued append in one transaction. The appends are written one after
   * another without savepoints: a savepoint copies each page an append touches, which cost
   * about a sixth of the CPU per command, and writeOne makes them unnecessary for every
   * answer but an unexpected failure partway through an append (a disk error, a bug). Then
   * the whole transaction is undone (nothing of it was acknowledged) and the batch is written
   * again with a savepoint around each append, so only the failing one fails.
   */
  function flush(): void {
    flushScheduled = false;
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
    if (queue.length > 0) scheduleFlush();
    if (!begin(batch)) return;

    let settled: Settled[];
    try {
      settled = writeBatch(batch, new Date().toISOString());
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

  /** Writes the batch into the open transaction; see flush for why savepoints come second. */
  function writeBatch(batch: Pending[], createdAt: string): Settled[] {
    try {
      return batch.map((p) => ({ outcome: writeOne(p.request, createdAt) }));
    } catch {
      rollbackQuietly();
      sql.begin.run();
      return batch.map((p) => writeIsolated(p.request, createdAt));
    }
  }

  /**
   * Opens the batch's write transaction. When another process holds the write lock, the
   * batch goes back to the front of the queue and waits between turns of the event loop
   * (SQLite's own wait would block it), until busyTimeoutMs; false when it did not open.
   */
  function begin(batch: Pending[]): boolean {
    try {
      sql.begin.run();
      lockWaitSince = undefined;
      return true;
    } catch (error) {
      const busy = (error as { code?: string }).code?.startsWith("SQLITE_BUSY");
      lockWaitSince ??= Date.now();
      if (busy && Date.now() - lockWaitSince < busyTimeoutMs) {
        queue = [...batch, ...queue];
        if (!flushScheduled) {
          flushScheduled = true;
          setTimeout(flush, 2 + Math.random() * 8);
        }
        return false;
      }
      lockWaitSince = undefined;
      for (const p of batch) p.reject(storeErrorOf(error));
      return false;
    }
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

/** The journal, cache and durability settings of the store's connection (the benchmark's raw ceiling uses them too). */
export function useStoreSettings(db: Database.Database, synchronous: "FULL" | "NORMAL"): void {
  db.pragma("journal_mode = WAL");
  // Room for the indexes' hot pages: SQLite's 2 MB default makes appends read pages back.
  db.pragma("cache_size = -65536");
  db.pragma(`synchronous = ${synchronous}`);
}

/** Opens (creating if needed) and migrates the database, with WAL and the chosen durability. */
function openDatabase(options: SqliteStoreOptions): Database.Database {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(options.path);
    const busyTimeoutMs = Math.trunc(options.busyTimeoutMs ?? 5000);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    useStoreSettings(db, options.synchronous ?? "FULL");
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
