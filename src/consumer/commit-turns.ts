/**
 * What a checkpointed consumer (an async projection's runner, a reaction's) needs to commit
 * in batches while it follows events live: its work taking turns, so a commit a timer starts
 * never runs in the middle of another piece of work, and a commit deferred a few
 * milliseconds, so that the events arriving meanwhile share one transaction.
 */

/** Runs async work one piece at a time, in the order given. */
export function takingTurns() {
  let last: Promise<unknown> = Promise.resolve();
  return {
    /** Runs `work` after every piece given before it has settled; its own result or failure is returned. */
    run<T>(work: () => Promise<T>): Promise<T> {
      const done = last.then(work);
      last = done.catch(() => undefined);
      return done;
    },
    /** Settles once every piece given so far has. */
    settled: (): Promise<unknown> => last,
  };
}

/** Calls `flush` once, `ms` after the first `soon()` since the last flush. */
export function lingering(ms: number, flush: () => void) {
  let timer: NodeJS.Timeout | undefined;
  return {
    soon(): void {
      timer ??= setTimeout(() => {
        timer = undefined;
        flush();
      }, ms);
    },
    cancel(): void {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
