import type Database from "better-sqlite3";

/** Most request records one prune deletes: one short write transaction between batches. */
export const PRUNE_CHUNK = 500;
/** Wait before looking again once nothing more has expired. */
const IDLE_MS = 1000;
/** Wait before the next chunk while more has expired, so batches get the writer in between. */
const BEHIND_MS = 10;

/**
 * A prune for one connection: deletes the oldest request records written before `cutoff`
 * (an ISO time, compared with `created_at`), at most `limit` of them, and returns how many
 * it deleted. Records are taken in arrival order (`seq`) and it stops at the first one still
 * kept, so each call reads only the rows it deletes and one more.
 */
export function requestPruner(db: Database.Database): (cutoff: string, limit?: number) => number {
  const oldest = db.prepare("SELECT seq, created_at FROM requests ORDER BY seq LIMIT ?").raw();
  const remove = db.prepare("DELETE FROM requests WHERE seq <= ?");
  return (cutoff, limit = PRUNE_CHUNK) => {
    let last: number | undefined;
    let expired = 0;
    // Iterated, not .all(): the break stops SQLite at the first record kept.
    for (const [seq, createdAt] of oldest.iterate(limit) as IterableIterator<[number, string]>) {
      if (createdAt >= cutoff) break;
      last = seq;
      expired++;
    }
    if (last !== undefined) remove.run(last);
    return expired;
  };
}

/**
 * Keeps the requests table to the retention window: every second it deletes the records
 * older than `retentionMs`, a chunk at a time, and while more have expired it comes back
 * after 10 ms instead, so a backlog is worked off without holding the write lock for long.
 * Runs on the connection that writes the batches, between them. A prune that fails (the
 * lock held by another process past busy_timeout, a disk error) is tried again at the next
 * turn: the records it missed are still answered, only kept longer. `onFailure` hears the
 * first failure of a run of them, and `undefined` once a prune succeeds again. Returns a
 * stop function.
 */
export function startRequestPruner(db: Database.Database, retentionMs: number, onFailure?: (message: string | undefined) => void): () => void {
  const prune = requestPruner(db);
  let failing = false;
  let timer: NodeJS.Timeout;
  const turn = () => {
    let deleted = 0;
    try {
      deleted = prune(new Date(Date.now() - retentionMs).toISOString());
      if (failing) onFailure?.(undefined);
      failing = false;
    } catch (error) {
      if (!failing) onFailure?.(error instanceof Error ? error.message : String(error));
      failing = true;
    }
    timer = setTimeout(turn, deleted === PRUNE_CHUNK ? BEHIND_MS : IDLE_MS).unref();
  };
  timer = setTimeout(turn, IDLE_MS).unref();
  return () => clearTimeout(timer);
}
