import type { EventStore } from "../../src/store/event-store.js";

/** Wraps a store and counts appends, stream and snapshot reads (and the events they return) and request look-ups; everything else passes through. */
export function countingStore(inner: EventStore) {
  const counts = { eventsRead: 0, streamReads: 0, snapshotReads: 0, appends: 0, requestLookups: 0 };
  const store: EventStore = {
    append: (request) => {
      counts.appends++;
      return inner.append(request);
    },
    readStream: async (tenant, streamId, options) => {
      const events = await inner.readStream(tenant, streamId, options);
      counts.streamReads++;
      counts.eventsRead += events.length;
      return events;
    },
    readAll: (tenant, options) => inner.readAll(tenant, options),
    streamRevision: (tenant, streamId) => inner.streamRevision(tenant, streamId),
    loadSnapshot: (tenant, streamId) => {
      counts.snapshotReads++;
      return inner.loadSnapshot(tenant, streamId);
    },
    findRequest: (tenant, requestId) => {
      counts.requestLookups++;
      return inner.findRequest(tenant, requestId);
    },
    watchAvailability: inner.watchAvailability && ((listener) => inner.watchAvailability!(listener)),
    ready: inner.ready && (() => inner.ready!()),
    close: () => inner.close(),
  };
  return { store, counts };
}
