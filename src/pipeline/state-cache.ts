import { LRUCache } from "lru-cache";

/** The key of a tenant's stream, in the state cache and the stream lanes. */
export function streamKey(tenant: string, streamId: string): string {
  return `${tenant}\0${streamId}`;
}

/** A state folded up to a revision. */
export interface CachedState {
  readonly state: unknown;
  readonly revision: number;
  /**
   * The length of the JSON of the stream's last snapshot, when this process saved or loaded
   * it: execute.ts spaces snapshots by it, and the cache weighs the state by it.
   */
  readonly snapshotSize?: number;
}

/** How much the state cache may hold. */
export interface StateCacheLimits {
  /** The most states it holds; 0 turns the cache off. */
  readonly maxEntries: number;
  /** The most it holds in characters of the states' JSON, as weighed by `stateWeight`. */
  readonly maxChars: number;
}

/**
 * What a state with no snapshot known is taken to weigh per event folded into it. A
 * booking's JSON grows ~40–60 characters a payment; a stream with a snapshot is weighed by it.
 */
export const CHARS_PER_EVENT_UNSNAPSHOTTED = 64;

/**
 * A state's weight against the cache's maxChars: its last snapshot's JSON length, or its
 * revision times CHARS_PER_EVENT_UNSNAPSHOTTED before it has one. A state that has grown since
 * its snapshot weighs more than that, but by at most one snapshot spacing of growth, which
 * execute.ts keeps near the snapshot's own size. In memory a state takes a few times its JSON
 * (measured for a booking with 10,000 payment ids: ~4×).
 */
export function stateWeight(value: CachedState): number {
  return Math.max(1, value.snapshotSize ?? value.revision * CHARS_PER_EVENT_UNSNAPSHOTTED);
}

/**
 * A least-recently-used map of folded states, bounded by their number and by their weight,
 * so a few long streams cannot hold the memory many short ones would. A state heavier than
 * the whole budget is not kept. A first attempt decides on the cached state unread
 * (loadState); the append's revision guard catches another process's writes, and the retry
 * reads the events after the cached revision. States are immutable (evolve returns new
 * objects), so sharing them is safe.
 */
export function createStateCache({ maxEntries, maxChars }: StateCacheLimits) {
  const entries =
    maxEntries > 0 && maxChars > 0
      ? new LRUCache<string, CachedState>({ max: maxEntries, maxSize: maxChars, sizeCalculation: stateWeight })
      : undefined;
  return {
    get(key: string): CachedState | undefined {
      return entries?.get(key);
    },
    /** Keeps the state unless the cache holds a later revision of the stream. */
    set(key: string, value: CachedState): void {
      if (!entries) return;
      const known = entries.peek(key);
      if (known && known.revision > value.revision) return;
      entries.set(key, value);
    },
    get size(): number {
      return entries?.size ?? 0;
    },
    /** The weight of what the cache holds, in characters (stateWeight). */
    get chars(): number {
      return entries?.calculatedSize ?? 0;
    },
  };
}

export type StateCache = ReturnType<typeof createStateCache>;
