/** The key of a tenant's stream, in the state cache and the stream lanes. */
export function streamKey(tenant: string, streamId: string): string {
  return `${tenant}\0${streamId}`;
}

/** A state folded up to a revision. */
export interface CachedState {
  readonly state: unknown;
  readonly revision: number;
  /** The size of the stream's last snapshot this process saved, when it saved one (execute.ts spaces snapshots by it). */
  readonly snapshotSize?: number;
}

/**
 * A bounded least-recently-used map of folded states. A first attempt decides on the cached
 * state unread (loadState); the append's revision guard catches another process's writes,
 * and the retry reads the events after the cached revision. States are immutable (evolve
 * returns new objects), so sharing them is safe.
 */
export function createStateCache(capacity: number) {
  const entries = new Map<string, CachedState>();
  return {
    get(key: string): CachedState | undefined {
      const hit = entries.get(key);
      if (hit) {
        entries.delete(key);
        entries.set(key, hit);
      }
      return hit;
    },
    set(key: string, value: CachedState): void {
      if (capacity <= 0) return;
      const known = entries.get(key);
      if (known && known.revision > value.revision) return;
      entries.delete(key);
      entries.set(key, value);
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
    },
    get size(): number {
      return entries.size;
    },
  };
}

export type StateCache = ReturnType<typeof createStateCache>;
