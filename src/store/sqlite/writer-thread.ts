// The SQLite store's writer thread: owns the write connection and commits one batch per
// message, so BEGIN, the inserts, COMMIT and its fsync never block the main thread's event loop.
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { createBatchWriter, failureOf } from "./batch-writer.js";
import { consumerTasks, type ConsumerTask } from "./documents.js";
import { startRequestPruner } from "./request-pruner.js";
import { turnTaking, whileBusy } from "./turn-taking.js";
import { fromWire, writtenToWire, type WireAppend } from "./writer-wire.js";
import { useStoreSettings } from "./schema.js";

/** What the main thread gives the writer thread. */
export interface WriterData {
  readonly path: string;
  readonly synchronous: "FULL" | "NORMAL";
  readonly busyTimeoutMs: number;
  /** Request records older than this are deleted between batches; undefined keeps them all. */
  readonly requestRetentionMs?: number;
  /** Set when the store has a beforeCommit hook: the thread waits on it for the main thread to run the hook. */
  readonly handshake?: SharedArrayBuffer;
}

/** Messages from the main thread. */
export type ToWriter =
  | { readonly id: number; readonly batch: WireAppend[] }
  | { readonly id: number; readonly task: ConsumerTask }
  | { readonly close: true };

const port = parentPort!;
const data = workerData as WriterData;
const db = new Database(data.path);
db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
useStoreSettings(db, data.synchronous);
// From here a busy write lock answers at once, and whileBusy waits for it, polling finely;
// waiting for another process's write lock blocks only this thread.
db.pragma("busy_timeout = 0");
const lock = whileBusy(data.busyTimeoutMs);

const flag = data.handshake && new Int32Array(data.handshake);
const commitBatch = createBatchWriter(
  db,
  flag &&
    ((appends) => {
      port.postMessage({ kind: "before-commit", appends });
      Atomics.wait(flag, 0, 0);
      const verdict = Atomics.exchange(flag, 0, 0);
      if (verdict !== 1) throw new Error("the beforeCommit hook failed; the batch is rolled back");
    }),
  lock,
);

if (data.requestRetentionMs) startRequestPruner(db, data.requestRetentionMs, lock, (failure) => port.postMessage({ kind: "pruning", failure }));

// Another process on the same file gets its turns at the write lock (turn-taking.ts).
const makeWay = turnTaking(db);
const runTask = consumerTasks(db, lock);

port.postMessage({ kind: "ready" });
port.on("message", (message: ToWriter) => {
  if ("close" in message) {
    db.close();
    process.exit(0);
  }
  try {
    makeWay();
    if ("task" in message) {
      port.postMessage({ kind: "done", id: message.id, answer: runTask(message.task) });
      return;
    }
    port.postMessage({ kind: "written", id: message.id, written: writtenToWire(commitBatch(message.batch.map(fromWire))) });
  } catch (error) {
    port.postMessage({ kind: "failed", id: message.id, failure: failureOf(error) });
  }
});
