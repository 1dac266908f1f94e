import { randomUUID } from "node:crypto";
import type { EventFeed } from "../consumer/event-feed.js";
import type { AnyProjection } from "../kernel/projection.js";
import { builtSettingOf, type EventStore } from "../store/event-store.js";
import { storedCollectionOf } from "./field-values.js";
import { startProjectionRunner } from "./projection-runner.js";
import { consumerNameOf } from "./read-service.js";

/** How a rebuild runs. */
export interface RebuildOptions {
  readonly store: EventStore;
  readonly feed: EventFeed;
  readonly projection: AnyProjection;
  readonly projections: readonly AnyProjection[];
  /** Stops waiting (the rebuild's progress is kept; the next rebuild resumes it). */
  readonly signal?: AbortSignal;
  /** Only when the stored collection was never built (a new projection version deployed). */
  readonly onlyIfUnbuilt?: boolean;
  /** How long the rebuild's lease lasts unrenewed, in ms (3,000 by default): a crashed rebuild is resumed after it. */
  readonly leaseMs?: number;
}

/** How often a rebuild looks whether it has caught up with the head, in ms. */
const POLL_MS = 20;
/** Swaps tried before giving up while commands keep moving the head past each catch-up. */
const MAX_SWAPS = 1000;

/** Why a rebuild did not finish. */
export class RebuildError extends Error {
  override readonly name = "RebuildError";
}

/**
 * Rebuilds a projection's stored collection from every event while commands keep running:
 * a runner with a consumer of its own folds all events into a side collection (its progress
 * committed with its checkpoint, so a crash resumes it, and the live collection is not
 * touched); once it has reached the head, one write transaction swaps the documents in, if
 * the head has not moved meanwhile and no other rebuild of the collection has taken the
 * consumer (else it catches up and tries again). Documents swapped in get versions above
 * the ones they replace, so a command that read an old one conflicts and decides again on
 * the new one. Answers the position the rebuilt collection holds.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<{ readonly position: number; readonly rebuilt: boolean }> {
  const { store, projection, signal } = options;
  const target = storedCollectionOf(projection);
  const built = () => store.sharedSetting!(builtSettingOf(target), "no").then((value) => value === "yes");
  if (options.onlyIfUnbuilt) {
    // A store without events has nothing to fold: a collection made with it is built as it
    // stands, and inline ones stay so. Rebuilding it instead would chase every command's head.
    const initial = (await store.headPosition()) === 0 ? "yes" : "no";
    if ((await store.sharedSetting!(builtSettingOf(target), initial)) === "yes") return { position: 0, rebuilt: false };
  }
  const source = `${target}~rebuild`;
  const rebuildConsumer = `rebuild:${target}`;
  // One owner for every runner of this rebuild: the next one takes the lease the last held on at once.
  const owner = `rebuild-${randomUUID()}`;
  const start = () => startProjectionRunner({ ...options, collection: source, consumerName: rebuildConsumer, owner, batchSize: 1000, leaseMs: options.leaseMs ?? 3000 });
  let runner = start();
  try {
    for (let swaps = 0; swaps < MAX_SWAPS; ) {
      if (signal?.aborted) throw new RebuildError(`the rebuild of ${target} was stopped; it resumes from its checkpoint`);
      if (options.onlyIfUnbuilt && (await built())) return { position: 0, rebuilt: false };
      const head = await store.headPosition();
      if ((await store.consumerCheckpoint!(rebuildConsumer)) < head || runner.position < head) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        continue;
      }
      await runner.stop();
      swaps++;
      const swapped = await store.replaceCollection!({
        target,
        source,
        head,
        rebuildConsumer,
        owner,
        ...(projection.mode === "async" ? { liveConsumer: consumerNameOf(projection) } : {}),
      });
      if (swapped === "replaced") return { position: head, rebuilt: true };
      runner = start();
    }
    throw new RebuildError(`the rebuild of ${target} caught up ${MAX_SWAPS} times, and each time commands had moved the head before it could swap`);
  } finally {
    await runner.stop();
  }
}
