/** Most request records one prune deletes: one short write transaction between batches. */
export const PRUNE_CHUNK = 500;
/** Wait before looking again once nothing more has expired. */
const IDLE_MS = 1000;
/** Wait before the next chunk while more has expired, so batches get the writer in between. */
const BEHIND_MS = 10;

/**
 * Keeps a store's requests table to its retention window: every second `prune` deletes at
 * most PRUNE_CHUNK expired records and says how many, and while a chunk comes back full it
 * runs again after 10 ms instead, so a backlog is worked off without holding the write lock
 * for long. A prune that fails (a lock held past the store's wait, a disk error, a lost
 * connection) is tried again at the next turn: the records it missed are still answered,
 * only kept longer. `onFailure` hears the first failure of a run of them, and `undefined`
 * once a prune succeeds again. Returns a stop function, which waits for a prune under way.
 */
export function startPruning(prune: () => number | Promise<number>, onFailure?: (message: string | undefined) => void): () => Promise<void> {
  let failing = false;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout;
  const turn = async () => {
    let deleted = 0;
    try {
      deleted = await prune();
      if (failing) onFailure?.(undefined);
      failing = false;
    } catch (error) {
      if (!failing) onFailure?.(error instanceof Error ? error.message : String(error));
      failing = true;
    }
    if (!stopped) timer = setTimeout(schedule, deleted === PRUNE_CHUNK ? BEHIND_MS : IDLE_MS).unref();
  };
  const schedule = () => (running = turn());
  timer = setTimeout(schedule, IDLE_MS).unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
    return running;
  };
}
