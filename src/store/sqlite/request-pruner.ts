import type Database from "better-sqlite3";
import { PRUNE_CHUNK, startPruning } from "../pruning.js";
import type { LockWait } from "./turn-taking.js";

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
 * Keeps the requests table to the retention window (startPruning), deleting the records
 * older than `retentionMs` by this process's clock. Runs on the connection that writes the
 * batches, between them. Returns a stop function.
 */
export function startRequestPruner(
  db: Database.Database,
  retentionMs: number,
  lock: LockWait,
  onFailure?: (message: string | undefined) => void,
): () => Promise<void> {
  const prune = requestPruner(db);
  return startPruning(() => lock(() => prune(new Date(Date.now() - retentionMs).toISOString())), onFailure);
}
