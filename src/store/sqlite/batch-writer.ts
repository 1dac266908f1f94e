import type Database from "better-sqlite3";
import { StoreUnavailableError, type AppendOutcome } from "../event-store.js";
import type { WriteFailure, Written } from "../group-commit.js";
import { documentSlots } from "./document-columns.js";
import { documentWriter, type WireDocument } from "./documents.js";
import { STREAM_REVISION_SQL } from "./schema.js";
import { atOnce, type LockWait } from "./turn-taking.js";
import { insertSchedulesOf } from "./schedule-rows.js";
import { storeErrorOf } from "./sqlite-errors.js";

/** One append as the writer writes it: plain data with every JSON value already serialized. */
export interface WriteRequest {
  readonly tenant: string;
  readonly streamId: string;
  readonly expectedRevision: number;
  readonly events: ReadonlyArray<readonly [id: string, type: string, data: string, metadata: string]>;
  readonly request?: { readonly requestId: string; readonly commandType: string; readonly aggregateId: string; readonly fingerprint: string; readonly result: string };
  readonly snapshot?: { readonly revision: number; readonly version: number; readonly state: string };
  /** The JSON of the NewSchedules to store with the events. */
  readonly schedules?: string;
  /** Inline projections' documents, each guarded by its version. */
  readonly documents?: readonly WireDocument[];
  /** The other streams of the append (AppendRequest.otherStreams), serialized the same way. */
  readonly otherStreams?: readonly OtherStreamWrite[];
}

/** One more stream of an append as the writer writes it. */
export interface OtherStreamWrite {
  readonly streamId: string;
  readonly expectedRevision: number;
  readonly events: WriteRequest["events"];
  readonly snapshot?: WriteRequest["snapshot"];
}

/** An error as it may cross threads (errors lose their class and code on the way). */
export function failureOf(error: unknown): WriteFailure {
  const mapped = storeErrorOf(error);
  if (mapped instanceof StoreUnavailableError) return { reason: mapped.reason, message: mapped.message };
  return { message: mapped instanceof Error ? mapped.message : String(mapped) };
}

/**
 * The write side of the SQLite store: commits a batch of appends in one transaction (one
 * fsync). Used on the writer thread, or inline for ":memory:". `beforeCommit` runs just
 * before COMMIT (tests inject crashes there); `lock` runs each BEGIN, waiting for the write
 * lock as it chooses (whileBusy), or as the connection's busy_timeout does.
 */
export function createBatchWriter(db: Database.Database, beforeCommit?: (appends: number) => void, lock: LockWait = atOnce) {
  const sql = {
    revision: db.prepare(STREAM_REVISION_SQL).pluck(),
    requestTaken: db.prepare("SELECT 1 FROM requests WHERE tenant = ? AND request_id = ?").pluck(),
    insertEvent: db.prepare("INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"),
    insertRequest: db.prepare(
      "INSERT INTO requests (tenant, request_id, command_type, aggregate_id, fingerprint, result, positions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    saveSnapshot: db.prepare(
      "INSERT INTO snapshots (tenant, stream_id, revision, version, state) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, stream_id) DO UPDATE SET revision = excluded.revision, version = excluded.version, state = excluded.state",
    ),
    insertSchedules: insertSchedulesOf(db),
    documents: documentWriter(db),
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT one_append"),
    release: db.prepare("RELEASE one_append"),
    rollbackTo: db.prepare("ROLLBACK TO one_append"),
  };

  /**
   * Writes one append inside the open transaction. Everything that turns an append away (the
   * revision guard, a request id already taken) is checked before its first write, so a
   * turned-away append leaves nothing behind and needs no savepoint.
   */
  function writeOne(w: WriteRequest, createdAt: string): AppendOutcome {
    const actualRevision = (sql.revision.get(w.tenant, w.streamId) as number | undefined) ?? 0;
    if (actualRevision !== w.expectedRevision) return { kind: "conflict", actualRevision };
    for (const other of w.otherStreams ?? []) {
      const actual = (sql.revision.get(w.tenant, other.streamId) as number | undefined) ?? 0;
      if (actual !== other.expectedRevision) return { kind: "conflict", actualRevision: actual, streamId: other.streamId };
    }
    const record = w.request;
    if (record && sql.requestTaken.get(w.tenant, record.requestId) !== undefined) return { kind: "request-taken" };
    const clash = w.documents && sql.documents.clash(w.tenant, w.documents);
    if (clash) return { kind: "conflict", actualRevision, document: { collection: clash[0], id: clash[1] } };
    const positions: number[] = [];
    const revision = insertEvents(w.tenant, w.streamId, w.expectedRevision, w.events, positions);
    for (const other of w.otherStreams ?? []) {
      insertEvents(w.tenant, other.streamId, other.expectedRevision, other.events, positions);
      const saved = other.snapshot;
      if (saved) sql.saveSnapshot.run(w.tenant, other.streamId, saved.revision, saved.version, saved.state);
    }
    if (record) {
      const { requestId, commandType, aggregateId, fingerprint, result } = record;
      sql.insertRequest.run(w.tenant, requestId, commandType, aggregateId, fingerprint, result, JSON.stringify(positions), createdAt);
    }
    if (w.schedules) sql.insertSchedules(w.tenant, w.schedules);
    const snapshot = w.snapshot;
    if (snapshot) sql.saveSnapshot.run(w.tenant, w.streamId, snapshot.revision, snapshot.version, snapshot.state);
    for (const document of w.documents ?? []) sql.documents.write(w.tenant, document);
    return { kind: "appended", revision, positions };
  }

  /** Inserts a stream's events after `revision`, adding their positions; returns the stream's new revision. */
  function insertEvents(tenant: string, streamId: string, revision: number, events: WriteRequest["events"], positions: number[]): number {
    let next = revision;
    for (const [id, type, data, metadata] of events) {
      positions.push(Number(sql.insertEvent.run(tenant, streamId, ++next, id, type, data, metadata).lastInsertRowid));
    }
    return next;
  }

  /** writeOne inside its own savepoint: a failure partway undoes this append alone. */
  function writeIsolated(w: WriteRequest, createdAt: string): Written {
    sql.savepoint.run();
    try {
      const outcome = writeOne(w, createdAt);
      sql.release.run();
      return { outcome };
    } catch (error) {
      // Some failures (disk full, I/O) end the whole transaction: then the batch fails.
      if (!db.inTransaction) throw error;
      sql.rollbackTo.run();
      sql.release.run();
      documentSlots(db).forget(); // slots it gave were rolled back with it
      return { failure: failureOf(error) };
    }
  }

  /**
   * The appends are written one after another without savepoints: a savepoint copies each
   * page an append touches (measured: a sixth of the CPU per command), and writeOne makes
   * them unnecessary for every answer but an unexpected failure partway through an append (a
   * constraint a caller's ids break, a disk error). Then the whole transaction is undone
   * (nothing of it was acknowledged) and the batch is written again with a savepoint around
   * each append, so only the failing one fails.
   */
  function writeBatch(batch: readonly WriteRequest[], createdAt: string): Written[] {
    try {
      return batch.map((w) => ({ outcome: writeOne(w, createdAt) }));
    } catch {
      rollbackQuietly();
      begin();
      return batch.map((w) => writeIsolated(w, createdAt));
    }
  }

  /** Ends a failed transaction; SQLite may already have rolled it back itself. */
  function rollbackQuietly(): void {
    documentSlots(db).forget(); // slots the transaction gave are rolled back with it
    try {
      if (db.inTransaction) sql.rollback.run();
    } catch {
      // Nothing left to undo: the transaction is gone either way.
    }
  }

  /** BEGIN IMMEDIATE, waiting for the write lock as `lock` does. */
  function begin(): void {
    lock(() => sql.begin.run());
  }

  /**
   * Commits the batch and says how each append ended. Throws when the transaction itself
   * fails (the write lock not had in time, disk full, I/O error): then nothing of the
   * batch is kept, and no append in it may be acknowledged.
   */
  return function commitBatch(batch: readonly WriteRequest[]): Written[] {
    begin();
    try {
      const written = writeBatch(batch, new Date().toISOString());
      beforeCommit?.(batch.length);
      sql.commit.run();
      return written;
    } catch (error) {
      rollbackQuietly();
      throw error;
    }
  };
}
