import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Worker } from "node:worker_threads";
import type { RecordedEvent } from "../../kernel/events.js";
import {
  availabilityListeners,
  commitListeners,
  pageSize,
  StoreUnavailableError,
  type Availability,
  type ConsumerLease,
  type EventStore,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredSnapshot,
} from "../event-store.js";
import { errorOf, groupCommit, type GroupCommitOptions, type WriteFailure, type Written } from "../group-commit.js";
import { recordedEventOf, requestRecordOf, type EventRow as SqlEventRow, type RequestRow } from "../rows.js";
import { createBatchWriter } from "./batch-writer.js";
import { sqliteScheduleStore } from "./schedule-store.js";
import { consumerTasks, documentReader, wireDocumentOf, type ConsumerAnswer, type ConsumerTask } from "./documents.js";
import { startRequestPruner } from "./request-pruner.js";
import { atOnce } from "./turn-taking.js";
import { migrate, STREAM_REVISION_SQL, useStoreSettings } from "./schema.js";
import { storeErrorOf } from "./sqlite-errors.js";
import type { ToWriter, WriterData } from "./writer-thread.js";
import { committedEventsOf, fromWire, snapshotSizeOf, toWire, writtenFromWire, type WireAppend, type WireWritten } from "./writer-wire.js";

/** How the SQLite store is opened. */
export interface SqliteStoreOptions {
  /** A file path, or ":memory:". */
  readonly path: string;
  /** FULL survives power loss; NORMAL survives a process crash only. */
  readonly synchronous?: "FULL" | "NORMAL";
  /** How long a writer waits for another process's write lock, in ms. */
  readonly busyTimeoutMs?: number;
  /**
   * How long a request record is kept, in ms: a retry with the same request id within it
   * gets the first answer back; after it, the id may be taken as new. Undefined or 0 keeps
   * every record (the requests table then grows with every command).
   */
  readonly requestRetentionMs?: number;
  /** Told when deleting expired request records starts failing (with why) and when it works again (undefined). */
  readonly onPruningFailure?: (failure: string | undefined) => void;
  /** Most appends committed together in one transaction. */
  readonly maxBatch?: number;
  /** Most batches sent to the writer and not yet answered; more wait in the queue. */
  readonly maxBatchesOut?: number;
  /** Called with the batch size just before COMMIT; tests inject crashes here. */
  readonly beforeCommit?: (appends: number) => void;
  /** Called with each writer thread as it starts; tests stop it to inject a thread failure. */
  readonly onWriterThread?: (thread: Worker) => void;
  /** How often another process's commits are looked for while someone watches commits, in ms. */
  readonly commitPollMs?: number;
  /** Told of every group-commit batch: its size and how long its commit took. */
  readonly onBatch?: GroupCommitOptions["onBatch"];
}

type WriterHooks = Pick<SqliteStoreOptions, "beforeCommit" | "onWriterThread" | "onPruningFailure">;

/** The options every connection is opened with, defaults filled in. */
type Opened = Pick<WriterData, "path" | "synchronous" | "busyTimeoutMs" | "requestRetentionMs">;

type EventRow = SqlEventRow<string, number>;

/** Where batches are committed. */
interface Writer {
  write(batch: WireAppend[]): Promise<Written[]>;
  /** Runs a consumer's lease or commit in a transaction of its own. */
  task(task: ConsumerTask): Promise<ConsumerAnswer>;
  /** Settles once the writer first can write, or first fails to start. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded event store on better-sqlite3: WAL, BEGIN IMMEDIATE writes, busy_timeout for
 * a second process on the same file, and group commit: appends that arrive while earlier
 * batches are being written share the next transaction (one fsync), and a conflict or
 * failure of one leaves its neighbours untouched (batch-writer.ts). No append resolves
 * before its transaction has committed.
 *
 * A file is written by a writer thread with its own connection, so commits and their fsync
 * run beside the event loop instead of stopping it; reads use this thread's connection,
 * which WAL lets read while the writer writes. ":memory:" (visible to one connection only)
 * is written on this thread.
 */
export function openSqliteStore(options: SqliteStoreOptions): EventStore {
  const opened: Opened = {
    path: options.path,
    synchronous: options.synchronous ?? "FULL",
    busyTimeoutMs: Math.trunc(options.busyTimeoutMs ?? 5000),
    requestRetentionMs: options.requestRetentionMs || undefined,
  };
  const db = openDatabase(opened);
  let scheduleDb: Database.Database;
  try {
    scheduleDb = openScheduleConnection(db, opened);
  } catch (error) {
    db.close();
    throw error;
  }
  // Small enough that 64 commands in flight make two batches, which take turns: the writer
  // commits one while this thread prepares the other (measured: ~45% more commands per
  // second than one batch of 64); large enough to share an fsync among many.
  const maxBatch = options.maxBatch ?? 32;
  // Two out: the writer finds the next batch waiting when it finishes one, instead of idling
  // while its answer crosses to this thread and the next batch crosses back (measured in
  // process, four pairs: 20.1–21.3k → 21.0–24.3k commands/s at the same CPU per command).
  const maxBatchesOut = options.maxBatchesOut ?? 2;
  const availability = availabilityListeners();
  const writer = options.path === ":memory:" ? inlineWriter(db, opened.requestRetentionMs, options) : threadWriter(opened, options, availability.tell);

  const sql = {
    revision: db.prepare(STREAM_REVISION_SQL).pluck(),
    readStream: db.prepare(
      "SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE tenant = ? AND stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?",
    ),
    head: db.prepare("SELECT coalesce(max(position), 0) FROM events").pluck(),
    readAllTenants: db.prepare("SELECT tenant, position, stream_id, revision, id, type, data, metadata FROM events WHERE position >= ? ORDER BY position LIMIT ?"),
    dataVersion: db.prepare("PRAGMA data_version").pluck(),
    snapshot: db.prepare("SELECT revision, version, state FROM snapshots WHERE tenant = ? AND stream_id = ?"),
    request: db.prepare("SELECT request_id, command_type, aggregate_id, fingerprint, result, positions FROM requests WHERE tenant = ? AND request_id = ?"),
  };

  const documents = documentReader(db);

  /** ReadAll's statements, one per combination of filters, prepared when first used. */
  const readAllStatements = new Map<string, Database.Statement>();
  function readAllStatement(bounded: boolean, ofTypes: boolean, prefixed: boolean): Database.Statement {
    const key = `${+bounded}${+ofTypes}${+prefixed}`;
    let statement = readAllStatements.get(key);
    if (!statement) {
      statement = db.prepare(
        "SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE tenant = ? AND position >= ?" +
          (bounded ? " AND position <= ?" : "") +
          (ofTypes ? " AND type IN (SELECT value FROM json_each(?))" : "") +
          (prefixed ? " AND substr(stream_id, 1, length(?)) = ?" : "") +
          " ORDER BY position LIMIT ?",
      );
      readAllStatements.set(key, statement);
    }
    return statement;
  }

  // Commits are told as this process's batches are answered, and, while someone watches, by
  // polling data_version, which changes when another connection (this process's writer
  // thread, or another process) commits: a cheap check that reads no table.
  const commitPollMs = options.commitPollMs ?? 20;
  const commits = commitListeners(() => {
    let version = sql.dataVersion.get() as number;
    const timer = setInterval(() => {
      if (closed) return;
      let now: number;
      try {
        now = sql.dataVersion.get() as number;
      } catch {
        return; // a busy or failing file: the next tick tries again
      }
      if (now !== version) {
        version = now;
        commits.tell();
      }
    }, commitPollMs);
    timer.unref();
    return () => clearInterval(timer);
  });
  const batches = groupCommit(
    (batch: WireAppend[]) =>
      writer.write(batch).then((written) => {
        if (commits.watched) commits.tell(() => committedEventsOf(batch, written));
        return written;
      }),
    { maxBatch, maxBatchesOut, onBatch: options.onBatch },
  );
  let closed = false;

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
      let write: WireAppend;
      try {
        write = toWire(request);
      } catch (error) {
        return Promise.reject(error);
      }
      const snapshotSize = snapshotSizeOf(write);
      if (snapshotSize === undefined) return batches.submit(write);
      return batches.submit(write, (outcome) => (outcome.kind === "appended" ? { ...outcome, snapshotSize } : outcome));
    },
    readStream(tenant, streamId, options: ReadStreamOptions = {}) {
      return read(() =>
        (sql.readStream.all(tenant, streamId, Math.max(1, options.fromRevision ?? 1), pageSize(options.maxCount)) as EventRow[]).map(toRecorded),
      );
    },
    readAll(tenant, options: ReadAllOptions = {}) {
      const { toPosition, eventTypes, streamIdPrefix } = options;
      const ofTypes = Boolean(eventTypes?.length);
      const prefixed = Boolean(streamIdPrefix);
      const values: unknown[] = [tenant, Math.max(1, options.fromPosition ?? 1)];
      if (toPosition !== undefined) values.push(toPosition);
      if (ofTypes) values.push(JSON.stringify(eventTypes));
      if (prefixed) values.push(streamIdPrefix, streamIdPrefix);
      values.push(pageSize(options.maxCount));
      return read(() => rowsOf<EventRow>(readAllStatement(toPosition !== undefined, ofTypes, prefixed), values, options.maxChars).map(toRecorded));
    },
    headPosition() {
      return read(() => sql.head.get() as number);
    },
    readAllTenants({ fromPosition, maxCount, maxChars }) {
      return read(() =>
        rowsOf<EventRow & { tenant: string }>(sql.readAllTenants, [Math.max(1, fromPosition), pageSize(maxCount)], maxChars).map((row) => ({
          tenant: row.tenant,
          event: toRecorded(row),
          size: row.data.length + row.metadata.length,
        })),
      );
    },
    watchCommits: commits.watch,
    streamRevision(tenant, streamId) {
      return read(() => (sql.revision.get(tenant, streamId) as number | undefined) ?? 0);
    },
    loadSnapshot(tenant, streamId) {
      return read(() => {
        const row = sql.snapshot.get(tenant, streamId) as { revision: number; version: number; state: string } | undefined;
        return row && ({ revision: row.revision, version: row.version, state: JSON.parse(row.state), size: row.state.length } satisfies StoredSnapshot);
      });
    },
    findRequest(tenant, requestId) {
      return read(() => {
        const row = sql.request.get(tenant, requestId) as RequestRow<string, string> | undefined;
        return row && requestRecordOf(row, JSON.parse(row.result), JSON.parse(row.positions));
      });
    },
    fetchDocument(tenant, collection, id) {
      return read(() => documents.fetch(tenant, collection, id));
    },
    findDocuments(tenant, collection, query) {
      return read(() => documents.find(tenant, collection, query));
    },
    claimConsumer(name, owner, ttlMs) {
      return writer.task(["claim", name, owner, ttlMs]) as Promise<ConsumerLease>;
    },
    async commitProjection({ name, owner, from, position, documents: written }) {
      const wire = written.map((d) => [d.tenant, wireDocumentOf(d)] as const);
      return (await writer.task(["commit", name, owner, from, position, wire])) as "committed" | "lease-lost";
    },
    consumerCheckpoint(name) {
      return read(() => documents.checkpoint(name));
    },
    async sharedSetting(name, initial) {
      return ((await writer.task(["setting", name, initial])) as { setting: string }).setting;
    },
    async replaceCollection(swap) {
      return (await writer.task(["replace", swap])) as "replaced" | "moved";
    },
    async dropCollection(collection) {
      await writer.task(["drop", collection]);
    },
    ready: () => writer.ready,
    watchAvailability: availability.watch,
    schedules: sqliteScheduleStore(scheduleDb),
    async close() {
      if (closed) return;
      closed = true;
      // What was appended before close is still written.
      await batches.settle();
      await writer.close();
      if (scheduleDb !== db) scheduleDb.close();
      db.close();
    },
  };
}

/** Opens (creating if needed) and migrates the database, with WAL and the chosen durability. */
function openDatabase({ path, synchronous, busyTimeoutMs }: Opened): Database.Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    useStoreSettings(db, synchronous);
    migrate(db);
    // From now on this connection only reads a file (the writer thread writes it), which WAL
    // rarely makes wait, and a wait here would block the event loop. (":memory:" is written
    // here too, but no other connection can hold its lock.)
    db.pragma(`busy_timeout = ${Math.min(busyTimeoutMs, 20)}`);
    return db;
  } catch (error) {
    db?.close();
    throw storeErrorOf(error, path);
  }
}

/** How long a schedule claim or completion waits for another connection's write lock, in ms: it blocks the event loop meanwhile. */
const SCHEDULE_BUSY_TIMEOUT_MS = 250;

/** The connection the schedules are written on: the store's own for ":memory:", else one of their own on the file. */
function openScheduleConnection(db: Database.Database, { path, synchronous }: Opened): Database.Database {
  if (path === ":memory:") return db;
  const connection = new Database(path);
  try {
    connection.pragma(`busy_timeout = ${SCHEDULE_BUSY_TIMEOUT_MS}`);
    useStoreSettings(connection, synchronous);
    return connection;
  } catch (error) {
    connection.close();
    throw storeErrorOf(error, path);
  }
}

/**
 * A statement's rows; with `maxChars`, only up to the one that brings their data and metadata
 * to it, read one by one and stopped there (the iterator costs ~2 µs a row more than `all()`,
 * so it is used only when a page must stay small in memory).
 */
function rowsOf<R extends EventRow>(statement: Database.Statement, values: unknown[], maxChars: number | undefined): R[] {
  if (maxChars === undefined) return statement.all(...values) as R[];
  const taken: R[] = [];
  let chars = 0;
  for (const row of statement.iterate(...values) as Iterable<R>) {
    taken.push(row);
    chars += row.data.length + row.metadata.length;
    if (chars >= maxChars) break; // leaving the loop ends the statement's iteration
  }
  return taken;
}

function toRecorded(row: EventRow): RecordedEvent {
  return recordedEventOf(row, row.position, JSON.parse(row.data), JSON.parse(row.metadata));
}

/** Writes on this thread: for ":memory:", which no other connection can see. */
function inlineWriter(db: Database.Database, requestRetentionMs: number | undefined, hooks: WriterHooks): Writer {
  const commitBatch = createBatchWriter(db, hooks.beforeCommit);
  const runTask = consumerTasks(db);
  const stopPruning = requestRetentionMs ? startRequestPruner(db, requestRetentionMs, atOnce, hooks.onPruningFailure) : undefined;
  return {
    write: async (batch) => {
      try {
        return commitBatch(batch.map(fromWire));
      } catch (error) {
        throw storeErrorOf(error);
      }
    },
    task: async (task) => {
      try {
        return runTask(task);
      } catch (error) {
        throw storeErrorOf(error);
      }
    },
    ready: Promise.resolve(),
    close: async () => stopPruning?.(),
  };
}

/** Messages from the writer thread. */
type FromWriter =
  | { readonly kind: "ready" }
  | { readonly kind: "written"; readonly id: number; readonly written: WireWritten }
  | { readonly kind: "done"; readonly id: number; readonly answer: ConsumerAnswer }
  | { readonly kind: "failed"; readonly id: number; readonly failure: WriteFailure }
  | { readonly kind: "before-commit"; readonly appends: number }
  | { readonly kind: "pruning"; readonly failure: string | undefined };

function writerClosed(): StoreUnavailableError {
  return new StoreUnavailableError("STORE_CLOSED", "the event store's writer has stopped");
}

/** First wait before a writer thread that stopped is replaced; it doubles on each failure in a row. */
const RESTART_FIRST_MS = 50;
const RESTART_MAX_MS = 5000;

/**
 * Writes on a worker thread with its own connection to the file. A thread that stops (an
 * uncaught error, running out of memory) is replaced after a wait that grows while it keeps
 * failing: the appends out at it fail with STORE_WRITER_FAILED (whether they were committed
 * is unknown, as after a lost connection), appends meanwhile fail fast with the same reason,
 * and `tell` hears when writes stop and when a new thread has opened the file.
 */
function threadWriter(opened: Opened, hooks: WriterHooks, tell: (change: Availability) => void): Writer {
  const handshake = hooks.beforeCommit ? new SharedArrayBuffer(4) : undefined;
  const workerData: WriterData = { ...opened, handshake };
  const waiting = new Map<number, { resolve: (written: never) => void; reject: (error: unknown) => void }>();
  let next = 0;
  let worker: Worker | undefined;
  /** Why writes fail now: set from a thread's stop until its replacement starts. */
  let down: StoreUnavailableError | undefined;
  /** Threads that stopped since one last opened the file; above 0, listeners were told writes fail. */
  let failuresInARow = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let closing = false;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  // Settled by the first thread's "ready" or by its exit before that; later calls do nothing.
  let markStarted!: () => void;
  let failedToStart!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => ([markStarted, failedToStart] = [resolve, reject]));
  ready.catch(() => undefined); // read by whoever waits for it; unread, a failed start is not a crash

  function onMessage(message: FromWriter): void {
    switch (message.kind) {
      case "ready":
        markStarted();
        if (failuresInARow > 0) {
          failuresInARow = 0;
          tell({ available: true });
        }
        return;
      case "before-commit":
        answerBeforeCommit(message.appends);
        return;
      case "pruning":
        hooks.onPruningFailure?.(message.failure);
        return;
    }
    const w = waiting.get(message.id);
    if (!w) return;
    waiting.delete(message.id);
    if (waiting.size === 0) worker?.unref();
    if (message.kind === "failed") w.reject(errorOf(message.failure));
    else if (message.kind === "done") w.resolve(message.answer as never);
    else {
      try {
        w.resolve(writtenFromWire(message.written) as never);
      } catch (error) {
        w.reject(error); // an answer this thread cannot read: a bug, failed here rather than crashing the process
      }
    }
  }

  /** Runs the test hook on this thread while the writer waits, then tells it to commit (1) or roll back (2). */
  function answerBeforeCommit(appends: number): void {
    let verdict = 1;
    try {
      hooks.beforeCommit?.(appends);
    } catch {
      verdict = 2;
    }
    const flag = new Int32Array(handshake!);
    Atomics.store(flag, 0, verdict);
    Atomics.notify(flag, 0);
  }

  /** Fails every append out at the thread that just stopped. */
  function failWaiting(error: StoreUnavailableError): void {
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  }

  function start(): void {
    down = undefined;
    const thread = new Worker(new URL("./writer-thread.mjs", import.meta.url), { workerData });
    // The thread keeps the process alive only while a batch is out.
    if (waiting.size === 0) thread.unref();
    let error: Error | undefined;
    thread.on("message", onMessage);
    thread.on("error", (thrown) => (error = thrown));
    thread.once("exit", (code) => {
      worker = undefined;
      if (closing) {
        failWaiting(writerClosed());
        failedToStart(writerClosed());
        markClosed();
        return;
      }
      const why = error ? error.message : `it exited with code ${code}`;
      failedToStart(new StoreUnavailableError("STORE_WRITER_FAILED", `the store's writer thread did not start (${why})`, { cause: error }));
      failWaiting(
        new StoreUnavailableError(
          "STORE_WRITER_FAILED",
          `the store's writer thread stopped while this append was out at it (${why}): it may or may not have been committed; retry with the same request id`,
          { cause: error },
        ),
      );
      down = new StoreUnavailableError("STORE_WRITER_FAILED", `the store's writer thread stopped (${why}) and is being restarted; retry shortly`, { cause: error });
      const delay = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** failuresInARow++);
      restartTimer = setTimeout(start, delay);
      restartTimer.unref();
      // Told after the restart is scheduled, so a listener that throws cannot prevent it.
      tell({ available: false, reason: `its writer thread stopped (${why}) and is being restarted` });
    });
    worker = thread;
    hooks.onWriterThread?.(thread);
  }

  /** Sends a message to the thread and waits for its answer. */
  function send<A>(message: ToWriter & { id: number }): Promise<A> {
    if (!worker) return Promise.reject(down ?? writerClosed());
    worker.ref();
    worker.postMessage(message);
    return new Promise<A>((resolve, reject) => waiting.set(message.id, { resolve: resolve as (answer: never) => void, reject }));
  }

  start();
  return {
    ready,
    write: (batch) => send<Written[]>({ id: next++, batch }),
    task: (task) => send<ConsumerAnswer>({ id: next++, task }),
    close() {
      if (!closing) {
        closing = true;
        clearTimeout(restartTimer);
        if (worker) {
          worker.ref();
          worker.postMessage({ close: true } satisfies ToWriter);
        } else {
          markClosed();
        }
      }
      return closed;
    },
  };
}
