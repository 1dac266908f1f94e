import { randomUUID } from "node:crypto";
import { lingering, takingTurns } from "../consumer/commit-turns.js";
import type { EventFeed } from "../consumer/event-feed.js";
import { consume } from "../consumer/subscription.js";
import type { AnyProjection, ProjectedEvent } from "../kernel/projection.js";
import type { RecordedEvent } from "../kernel/events.js";
import type { DocumentWrite, EventStore } from "../store/event-store.js";
import { indexedFieldsOf, storedCollectionOf } from "./field-values.js";
import { consumerNameOf } from "./read-service.js";

/** How a runner runs. */
export interface ProjectionRunnerOptions {
  readonly store: EventStore;
  readonly feed: EventFeed;
  readonly projection: AnyProjection;
  /** Every registered projection: documentIdFrom reads another's documents. */
  readonly projections: readonly AnyProjection[];
  /** Who this runner is in the lease row; a new id per runner by default. */
  readonly owner?: string;
  /** How long a lease lasts unrenewed, in ms (10,000 by default); renewed every third of it. */
  readonly leaseMs?: number;
  /** Most events applied before their documents and checkpoint are committed (500 by default). */
  readonly batchSize?: number;
  /** Once live, how long applied events may wait to share one commit (20 ms by default; 0 commits each at once). */
  readonly lingerMs?: number;
  /** The collection written, when not the projection's own (a rebuild writes the next version). */
  readonly collection?: string;
  /** The consumer's name, when not the projection's own (a rebuild has its own checkpoint). */
  readonly consumerName?: string;
  /** Told when the runner fails and will try again (with why). */
  readonly onError?: (error: unknown) => void;
}

/** A document as the runner last read or wrote it (version 0: none). */
interface Working {
  version: number;
  data: object | null;
  dirty: boolean;
}

/**
 * Runs an async projection: the one consumer mechanism over every tenant's events, its
 * documents and checkpoint committed together (store.commitProjection), so a crash neither
 * skips nor applies an event twice; it resumes from the checkpoint. Only the holder of the
 * consumer's lease runs it, across processes and replicas: the lease is renewed while it
 * runs, and a commit after another took the lease is refused, so a stalled owner that wakes
 * up writes nothing. Until it holds the lease a runner waits and asks again.
 */
export function startProjectionRunner(options: ProjectionRunnerOptions) {
  const { store, feed, projection } = options;
  const owner = options.owner ?? randomUUID();
  const leaseMs = options.leaseMs ?? 10_000;
  const batchSize = options.batchSize ?? 500;
  const lingerMs = options.lingerMs ?? 20;
  const collection = options.collection ?? storedCollectionOf(projection);
  const name = options.consumerName ?? consumerNameOf(projection);
  const related = new Map(options.projections.map((p) => [p.collection, p]));
  const types = new Set(projection.eventTypes);
  const stopping = new AbortController();
  let stopped: Promise<void> | undefined;
  let position = 0;

  /** One run while holding the lease: follows events from the checkpoint until the lease is lost or the runner stops. */
  async function run(from: number): Promise<void> {
    const lost = new AbortController();
    const signal = AbortSignal.any([stopping.signal, lost.signal]);
    const renew = setInterval(() => {
      store.claimConsumer!(name, owner, leaseMs).then(
        (lease) => lease.held || lost.abort(),
        () => lost.abort(),
      );
    }, leaseMs / 3);
    renew.unref();
    const working = new Map<string, Working>();
    let pending = 0;
    let applied = from;
    let live = false;
    // Applying and committing take turns: a lingering commit never sees an event half applied.
    const turns = takingTurns();
    let failure: unknown;
    // Live events one at a time would each cost a transaction (an fsync on SQLite): those that
    // arrive within lingerMs share one, and the read model trails the events by that much.
    const later = lingering(lingerMs, () => {
      turns.run(() => (pending > 0 ? commit(applied) : Promise.resolve())).catch((error) => {
        failure = error;
        lost.abort();
      });
    });

    const commit = async (to: number) => {
      const documents: (DocumentWrite & { tenant: string })[] = [];
      for (const [key, w] of working) {
        if (!w.dirty) continue;
        const [tenant, id] = JSON.parse(key) as [string, string];
        documents.push({ tenant, collection, id, ...(w.version > 0 ? { expectedVersion: w.version } : {}), document: w.data, fields: w.data ? indexedFieldsOf(projection.collection, projection.fields, w.data) : {} });
      }
      const answer = await store.commitProjection!({ name, owner, from: position, position: to, documents });
      if (answer === "lease-lost") {
        lost.abort();
        return;
      }
      for (const w of working.values()) {
        if (!w.dirty) continue;
        w.version = w.data === null ? 0 : w.version + 1;
        w.dirty = false;
      }
      if (working.size > 10_000) working.clear();
      pending = 0;
      position = to;
    };

    const apply = async (tenant: string, recorded: RecordedEvent) => {
      const event: ProjectedEvent = { type: recorded.type, data: recorded.data, streamId: recorded.streamId, revision: recorded.revision, position: recorded.position };
      let id = projection.documentId(event, recorded.metadata);
      const from = projection.documentIdFrom;
      let relatedDocument: unknown;
      if (id === undefined && from) {
        const key = from.idOf(event, recorded.metadata);
        const other = related.get(from.collection);
        const row = key === undefined ? undefined : await store.fetchDocument!(tenant, other ? storedCollectionOf(other) : from.collection, key);
        relatedDocument = row?.data;
        id = row ? from.documentId(row.data) : undefined;
      }
      if (id === undefined) return;
      const key = JSON.stringify([tenant, id]);
      let w = working.get(key);
      if (!w) {
        const row = await store.fetchDocument!(tenant, collection, id);
        w = { version: row?.version ?? 0, data: (row?.data as object | undefined) ?? null, dirty: false };
        working.set(key, w);
      }
      w.data = projection.evolve(w.data, event, recorded.metadata, relatedDocument);
      w.dirty = true;
    };

    try {
      for await (const message of consume(store, feed, { after: from, signal, filter: { eventTypes: [...types] }, idleCheckpointMs: 100 }, { told: from })) {
        if (message.kind === "event") {
          const { tenant, event } = message;
          await turns.run(async () => {
            await apply(tenant, event);
            applied = event.position;
            pending++;
            if (pending >= batchSize || (live && lingerMs <= 0)) await commit(applied);
            else if (live) later.soon();
          });
        } else if (message.kind === "checkpoint" || message.kind === "caught-up") {
          if (message.kind === "caught-up") live = true;
          const to = message.position;
          await turns.run(async () => {
            if (pending > 0 || to > position) await commit(Math.max(applied, to));
          });
        }
      }
      await turns.settled();
      if (failure) throw failure;
    } finally {
      clearInterval(renew);
      later.cancel();
    }
  }

  const done = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const lease = await store.claimConsumer!(name, owner, leaseMs);
        if (lease.held) {
          position = lease.position;
          await run(lease.position);
          continue;
        }
      } catch (error) {
        if (stopping.signal.aborted) return;
        options.onError?.(error);
      }
      // Unref'd, so a waiting runner keeps no process alive; a stop ends the wait at once.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          stopping.signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(10, leaseMs / 3));
        timer.unref();
        stopping.signal.addEventListener("abort", done, { once: true });
      });
    }
  })();

  return {
    owner,
    /** The position this runner last committed. */
    get position(): number {
      return position;
    },
    /**
     * Stops after the event it is on; what was committed stays, and the lease is given up.
     * Once: stopping again does not touch the consumer (a rebuild's swap may have deleted it).
     */
    stop(): Promise<void> {
      stopped ??= (async () => {
        stopping.abort();
        await done;
        // Gives the lease up (it expires now), so a process started next takes it on at once.
        await store.claimConsumer!(name, owner, 0).catch(() => undefined);
      })();
      return stopped;
    },
  };
}

export type ProjectionRunner = ReturnType<typeof startProjectionRunner>;
