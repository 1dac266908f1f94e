import type { ConsumerPosition } from "./subscription.js";

/** How far behind the head a consumer is: events not yet told, and for how long it has been behind. */
export interface ConsumerLag {
  readonly events: number;
  readonly seconds: number;
}

/** One consumer on the board, from its start until it leaves. */
export interface LagEntry {
  /** Call after each message the consumer was told: it notes when the consumer last reached the head. */
  told(): void;
  leave(): void;
}

/**
 * The open consumers of one kind (the Subscribe streams) and their lag, for metrics: how many
 * are open, and the worst lag among them. Lag in seconds is the time since a consumer was last
 * at the head; events is the head minus the last position it was told.
 */
export interface LagBoard {
  join(at: ConsumerPosition): LagEntry;
  readonly open: number;
  /** The largest lag of any open consumer (0 and 0 when none is open). */
  worst(): ConsumerLag;
}

/** A board over the commit feed's head (`head` reads it). */
export function createLagBoard(head: () => number): LagBoard {
  const entries = new Set<{ readonly at: ConsumerPosition; reachedHeadAt: number }>();
  return {
    join(at) {
      const entry = { at, reachedHeadAt: Date.now() };
      entries.add(entry);
      return {
        told: () => {
          if (at.told >= head()) entry.reachedHeadAt = Date.now();
        },
        leave: () => entries.delete(entry),
      };
    },
    get open() {
      return entries.size;
    },
    worst() {
      const now = Date.now();
      const top = head();
      let events = 0;
      let seconds = 0;
      for (const { at, reachedHeadAt } of entries) {
        const behind = Math.max(0, top - at.told);
        if (behind === 0) continue;
        events = Math.max(events, behind);
        seconds = Math.max(seconds, (now - reachedHeadAt) / 1000);
      }
      return { events, seconds };
    },
  };
}
