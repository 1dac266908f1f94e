/** A lease on a named consumer: whether the asker holds it, who does, and the consumer's checkpoint. */
export interface ConsumerLease {
  readonly held: boolean;
  readonly owner: string;
  readonly position: number;
}

/**
 * What a reaction runner keeps in the database: its checkpoint under a lease (the `consumers`
 * table async projections use too: name, position, owner, lease expiry), and a mark for the
 * event it is working on, saying how many of that event's effects are done. The mark is what
 * tells a runner that resumes after a crash which effect may have happened without being
 * noted (reactions/runner.ts); the commit that moves the checkpoint past the event deletes it.
 */
export interface ReactionLedger {
  /** Takes or renews the lease for `ttlMs` when it is free, expired or already `owner`'s. */
  claim(name: string, owner: string, ttlMs: number): Promise<ConsumerLease>;
  /** Moves the checkpoint to `position` and deletes the mark of `settledEventId`, while `owner` holds the lease. */
  commit(name: string, owner: string, position: number, settledEventId?: string): Promise<"committed" | "lease-lost">;
  /** Gives the lease up, so another runner may take it at once. */
  release(name: string, owner: string): Promise<void>;
  /** How many effects of an event are done, when the runner began it and did not settle it; undefined for a fresh event. */
  effectsDone(name: string, eventId: string): Promise<number | undefined>;
  /** Notes that the first `done` effects of an event are done (0 when it begins). */
  noteEffects(name: string, eventId: string, done: number): Promise<void>;
  close(): Promise<void>;
}
