import type { Aggregate } from "../kernel/aggregate.js";
import type { DomainEvent } from "../kernel/events.js";
import { MAX_PAGE, type EventStore } from "../store/event-store.js";
import { streamKey, type CachedState, type StateCache } from "./state-cache.js";

/** A folded state and the revision it reflects (0 for a stream that does not exist). */
export interface LoadedState<S> {
  readonly state: S;
  readonly revision: number;
  /** False when the state came from the cache unchecked: another process may have moved on. */
  readonly verified: boolean;
  /** The JSON length of the stream's last snapshot, when this process saved or loaded it. */
  readonly snapshotSize?: number;
}

/**
 * Loads an aggregate. Unless `verify` is set, what the caller's append (guarded by the
 * revision) would catch anyway is not read: a cached state is returned as it is, and with
 * `assumeNew` a stream that is not cached is taken to be empty, so a stale cache or a stream
 * that exists after all costs a retry, never a lost update. Otherwise: the cached state or
 * the snapshot, then only the events after it, folded with evolve. A snapshot of another
 * version is ignored.
 */
export async function loadState<S>(
  store: EventStore,
  aggregate: Aggregate<S, DomainEvent>,
  tenant: string,
  streamId: string,
  cache?: StateCache,
  verify = true,
  assumeNew = false,
): Promise<LoadedState<S>> {
  const key = streamKey(tenant, streamId);
  const cached = cache?.get(key) as (CachedState & { state: S }) | undefined;
  if (!verify) {
    if (cached) return { state: cached.state, revision: cached.revision, verified: false, snapshotSize: cached.snapshotSize };
    if (assumeNew) return { state: aggregate.initialState(), revision: 0, verified: false };
  }
  let base = cached;
  if (!base && aggregate.snapshotEvery > 0) {
    const snapshot = await store.loadSnapshot(tenant, streamId);
    if (snapshot && snapshot.version === aggregate.snapshotVersion) {
      const state = aggregate.revive ? aggregate.revive(snapshot.state) : (snapshot.state as S);
      base = { state, revision: snapshot.revision, snapshotSize: snapshot.size };
    }
  }
  let { state, revision } = base ?? { state: aggregate.initialState(), revision: 0 };
  for (;;) {
    const events = await store.readStream(tenant, streamId, { fromRevision: revision + 1, maxCount: MAX_PAGE });
    for (const e of events) state = aggregate.evolve(state, e as unknown as DomainEvent);
    if (events.length > 0) revision = events[events.length - 1].revision;
    if (events.length < MAX_PAGE) break;
  }
  // A stream that does not exist is not cached: queries and commands for ids that were
  // never used would push out the states of streams that are.
  const snapshotSize = base?.snapshotSize;
  if (revision > 0) cache?.set(key, { state, revision, snapshotSize });
  return { state, revision, verified: true, snapshotSize };
}
