import { fold, streamIdOf, type Aggregate } from "../kernel/aggregate.js";
import type { AnyCommand, RelatedStreams } from "../kernel/command.js";
import type { DomainEvent } from "../kernel/events.js";
import type { EventStore, NewEvent, OtherStreamAppend, Snapshot } from "../store/event-store.js";
import { loadState, type LoadedState } from "./load-state.js";
import { streamKey, type StateCache } from "./state-cache.js";
import type { createStreamLanes } from "./stream-lanes.js";

/** One related stream of a command (CommandDefinition.related) as this call resolved it. */
export interface RelatedTarget {
  /** The name `decide` sees its state under. */
  readonly name: string;
  readonly aggregate: Aggregate<unknown, DomainEvent>;
  /** "" when the command has none for this name (its own stream does not exist yet). */
  readonly streamId: string;
}

/** A related stream loaded for one attempt. */
export interface LoadedRelated extends RelatedTarget {
  readonly loaded: LoadedState<unknown>;
}

/**
 * The related streams of a command for its payload and own state, in the order the command
 * declares them. A related stream that is the command's own stream, or named twice, is a
 * mistake in the domain: it throws, and the call fails with an error id.
 */
export function relatedTargetsOf(command: AnyCommand, payload: unknown, ownState: unknown, ownStreamId: string): RelatedTarget[] {
  const targets: RelatedTarget[] = [];
  const seen = new Set([ownStreamId]);
  for (const [name, related] of Object.entries((command.related ?? {}) as RelatedStreams)) {
    const id = related.id(payload, ownState);
    const streamId = id ? streamIdOf(related.aggregate, id) : "";
    if (streamId && seen.has(streamId)) throw new Error(`${command.type}: related stream "${name}" is ${streamId}, a stream the command already decides over`);
    if (streamId) seen.add(streamId);
    targets.push({ name, aggregate: related.aggregate, streamId });
  }
  return targets;
}

/** True when two resolutions name the same streams (the lanes taken still cover the command). */
export function sameTargets(a: readonly RelatedTarget[], b: readonly RelatedTarget[]): boolean {
  return a.length === b.length && a.every((t, i) => t.streamId === b[i].streamId);
}

/** Loads every related stream as loadState loads the command's own (cache, snapshot, events). */
export function loadRelated(
  store: EventStore,
  tenant: string,
  targets: readonly RelatedTarget[],
  cache: StateCache,
  verify: boolean,
): Promise<LoadedRelated[]> {
  return Promise.all(
    targets.map(async (t) => {
      const loaded = t.streamId
        ? await loadState(store, t.aggregate, tenant, t.streamId, cache, verify)
        : { state: t.aggregate.initialState(), revision: 0, verified: true };
      return { ...t, loaded };
    }),
  );
}

/** The related states by name, as `decide` sees them in `ctx.related`. */
export function relatedStatesOf(related: readonly LoadedRelated[]): Record<string, unknown> {
  const states: Record<string, unknown> = {};
  for (const r of related) states[r.name] = r.loaded.state;
  return states;
}

/** What a decision writes to one related stream, and the state it leaves there. */
export interface RelatedWrite {
  readonly target: LoadedRelated;
  readonly events: NewEvent[];
  readonly newState: unknown;
}

/**
 * Pairs a decision's related events with the streams they go to. Events under a name the
 * command does not declare, or for a stream it has none of, are a mistake in the domain: it
 * throws, and the call fails with an error id.
 */
export function relatedWritesOf(
  command: AnyCommand,
  related: readonly LoadedRelated[],
  decided: Readonly<Record<string, readonly DomainEvent[]>> | undefined,
  toNew: (e: DomainEvent) => NewEvent,
): RelatedWrite[] {
  for (const name of Object.keys(decided ?? {})) {
    if (!related.some((r) => r.name === name)) throw new Error(`${command.type} decided events for "${name}", which is not among its related streams`);
  }
  return related.map((target) => {
    const events = decided?.[target.name] ?? [];
    if (events.length > 0 && !target.streamId) throw new Error(`${command.type} decided events for "${target.name}", which it has no stream for`);
    return { target, events: events.map(toNew), newState: events.length > 0 ? fold(target.aggregate, target.loaded.state, events) : target.loaded.state };
  });
}

/**
 * The related streams as the append's `otherStreams`: each guarded by the revision it was
 * loaded at, whether the decision writes to it or not (a rejection over a stale state
 * must conflict as well). `snapshot` says whether one is due.
 */
export function otherStreamsOf(
  writes: readonly RelatedWrite[],
  snapshot: (w: RelatedWrite) => Snapshot | undefined,
): OtherStreamAppend[] {
  return writes
    .filter((w) => w.target.streamId)
    .map((w) => {
      const append = { streamId: w.target.streamId, expectedRevision: w.target.loaded.revision, events: w.events };
      const due = w.events.length > 0 ? snapshot(w) : undefined;
      return due ? { ...append, snapshot: due } : append;
    });
}

/**
 * Runs `work` holding the lanes of every stream it decides over. Lanes are taken one inside
 * the other in sorted key order, so two commands over overlapping streams always queue in
 * the same order and cannot wait on each other in a cycle.
 */
export function runInLanes<T>(lanes: ReturnType<typeof createStreamLanes>, tenant: string, streamIds: readonly string[], work: () => Promise<T>): Promise<T> {
  const keys = [...new Set(streamIds.filter(Boolean).map((id) => streamKey(tenant, id)))].sort();
  const take = (i: number): Promise<T> => (i === keys.length ? work() : lanes.run(keys[i], () => take(i + 1)));
  return take(0);
}
