import type Database from "better-sqlite3";

/** How long after another connection's last commit this writer keeps leaving it gaps. */
const SHARED_FOR_MS = 1000;
/** While sharing, a gap at most this often... */
const GAP_EVERY_MS = 20;
/** ...this long, with the write lock free. */
const GAP_MS = 2;

/**
 * SQLite's write lock is not fair: a writer that takes the lock again as soon as it commits
 * almost always wins, and under steady load this writer would leave another process on the
 * same file only the turns its own pauses happen to give. A waiting writer polls finely
 * (whileBusy, below) to take such a pause; and once another connection is seen to have
 * committed (`PRAGMA data_version` moves), this writer leaves the lock free for GAP_MS before
 * a batch, at most every GAP_EVERY_MS, until SHARED_FOR_MS pass with no commit but its own.
 * A writer alone on its file reads the pragma once a batch and never waits.
 *
 * Returns the function to call before each batch; it blocks the calling (writer) thread.
 * `clock` and `pause` are there for tests.
 */
export function turnTaking(db: Database.Database, clock = () => performance.now(), pause = blockFor): () => void {
  const dataVersion = db.prepare("PRAGMA data_version").pluck();
  let version = dataVersion.get();
  let othersCommittedAt = -Infinity;
  let lastGapAt = -Infinity;
  return () => {
    const now = clock();
    const current = dataVersion.get();
    if (current !== version) {
      version = current;
      othersCommittedAt = now;
    }
    if (now - othersCommittedAt < SHARED_FOR_MS && now - lastGapAt >= GAP_EVERY_MS) {
      pause(GAP_MS);
      lastGapAt = clock();
    }
  };
}

/** How a write that begins with BEGIN IMMEDIATE waits for the write lock. */
export type LockWait = <T>(write: () => T) => T;

/** No wait of its own: the connection's busy_timeout decides (":memory:", which nothing else can lock). */
export const atOnce: LockWait = (write) => write();

/** How often a writer waiting for the write lock tries again. */
const POLL_MS = 1;

/**
 * Runs `attempt` (a write that begins with BEGIN IMMEDIATE) on a connection whose busy_timeout
 * is 0, trying again every POLL_MS while the lock is busy, for up to `timeoutMs`. SQLite's own
 * busy handler sleeps 1, 2, 5, ... up to 100 ms between tries, so a waiter is mostly asleep
 * through the short gaps a loaded writer leaves it (turnTaking); polling finely, it takes them.
 * A busy BEGIN has run nothing, so trying again is safe. Blocks the calling (writer) thread.
 */
export function whileBusy(timeoutMs: number, clock = () => performance.now(), pause = blockFor): LockWait {
  return (attempt) => {
    const started = clock();
    for (;;) {
      try {
        return attempt();
      } catch (error) {
        if (!isBusy(error) || clock() - started >= timeoutMs) throw error;
        pause(POLL_MS);
      }
    }
  };
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` (the writer thread has nothing else to do meanwhile). */
function blockFor(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
