import type { DomainEvent } from "./events.js";

/**
 * An aggregate in the decider shape: a start state and a pure fold over its events.
 * Commands (see command.ts) supply `decide`; one stream holds one aggregate instance.
 */
export interface Aggregate<S, E extends DomainEvent = DomainEvent> {
  /** Names the aggregate and prefixes its stream ids: "booking" → "booking-B1". */
  readonly name: string;
  initialState(): S;
  evolve(state: S, event: E): S;
  /**
   * Snapshot every this many events, or a multiple of it once a snapshot is large (the
   * pipeline spaces them by their size: execute.ts); 0 turns snapshots off.
   */
  readonly snapshotEvery: number;
  /** Bump when the state's shape changes, so older snapshots are ignored. */
  readonly snapshotVersion: number;
  /**
   * Rebuilds a state from its JSON form (what a snapshot holds), for states with values JSON
   * does not keep, such as persistent collections. Absent: the JSON is the state.
   */
  readonly revive?: (json: unknown) => S;
}

/** Declares an aggregate; snapshots default to every 100 events, version 1. */
export function defineAggregate<S, E extends DomainEvent>(
  definition: Omit<Aggregate<S, E>, "snapshotEvery" | "snapshotVersion"> &
    Partial<Pick<Aggregate<S, E>, "snapshotEvery" | "snapshotVersion">>,
): Aggregate<S, E> {
  return { snapshotEvery: 100, snapshotVersion: 1, ...definition };
}

/** The stream that holds one aggregate instance. */
export function streamIdOf(aggregate: Pick<Aggregate<unknown>, "name">, aggregateId: string): string {
  return `${aggregate.name}-${aggregateId}`;
}

/** Folds events onto a state; the one place replay happens. */
export function fold<S, E extends DomainEvent>(aggregate: Aggregate<S, E>, state: S, events: Iterable<E>): S {
  let current = state;
  for (const e of events) current = aggregate.evolve(current, e);
  return current;
}
