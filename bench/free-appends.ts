import { streamKey } from "../src/pipeline/state-cache.js";
import type { AppendOutcome, EventStore } from "../src/store/event-store.js";

/**
 * A store whose appends write nothing, for measuring what the rest of a command costs
 * (`bench/store-cost.ts`): each append is answered on the next turn of the event loop, as
 * if committed, with the revision guard kept in memory so a stale state still conflicts.
 * Reads, and everything else, go to `store`. Never used by the service itself.
 */
export function withFreeAppends(store: EventStore): EventStore {
  const revisions = new Map<string, number>();
  let position = 0;
  return {
    ...store,
    append(request) {
      return new Promise<AppendOutcome>((resolve) =>
        setImmediate(() => {
          const key = streamKey(request.tenant, request.streamId);
          const actual = revisions.get(key) ?? request.expectedRevision;
          if (actual !== request.expectedRevision) return resolve({ kind: "conflict", actualRevision: actual });
          const revision = actual + request.events.length;
          revisions.set(key, revision);
          resolve({ kind: "appended", revision, positions: request.events.map(() => ++position) });
        }),
      );
    },
  };
}
