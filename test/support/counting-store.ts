import type { EventStore } from "../../src/store/event-store.js";

/**
 * Wraps a store and counts appends, stream and snapshot reads (and the events they return),
 * the commit feed's reads across tenants (and theirs) and request look-ups, and lists the revisions of the snapshots appends save, by stream;
 * everything else (read-model documents, consumers, schedules) passes through.
 */
export function countingStore(inner: EventStore) {
  const counts = { eventsRead: 0, streamReads: 0, snapshotReads: 0, appends: 0, requestLookups: 0, allTenantsReads: 0, allTenantsEventsRead: 0 };
  const snapshotsSaved = new Map<string, number[]>();
  const store: EventStore = {
    ...inner,
    append: (request) => {
      counts.appends++;
      if (request.snapshot) snapshotsSaved.set(request.streamId, [...(snapshotsSaved.get(request.streamId) ?? []), request.snapshot.revision]);
      return inner.append(request);
    },
    readStream: async (tenant, streamId, options) => {
      const events = await inner.readStream(tenant, streamId, options);
      counts.streamReads++;
      counts.eventsRead += events.length;
      return events;
    },
    readAll: (tenant, options) => inner.readAll(tenant, options),
    headPosition: () => inner.headPosition(),
    readAllTenants: async (options) => {
      const rows = await inner.readAllTenants(options);
      counts.allTenantsReads++;
      counts.allTenantsEventsRead += rows.length;
      return rows;
    },
    watchCommits: (listener) => inner.watchCommits(listener),
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
  return { store, counts, snapshotsSaved };
}
