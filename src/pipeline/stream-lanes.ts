/**
 * Runs work for one stream at a time within this process, in arrival order. Commands on
 * the same aggregate would otherwise all load the same revision and all but one would
 * conflict and retry; in a lane each loads the state the previous one left. Commands on
 * different streams run side by side (and share group commits). Retries still cover
 * writers in other processes. Entries are dropped when a lane empties, so the map holds
 * only streams with work in flight.
 */
export function createStreamLanes() {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, work: () => Promise<T>): Promise<T> {
      const previous = tails.get(key);
      const result = previous ? previous.then(work, work) : work();
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    get size(): number {
      return tails.size;
    },
  };
}
