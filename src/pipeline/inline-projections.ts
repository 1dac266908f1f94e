import { LRUCache } from "lru-cache";
import type { AnyProjection, ProjectedEvent } from "../kernel/projection.js";
import { indexedFieldsOf, storedCollectionOf } from "../read/field-values.js";
import type { AppendOutcome, DocumentWrite, EventStore, NewEvent } from "../store/event-store.js";

/** A projection that threw or produced a document the store cannot index: the command fails, nothing is written. */
export class ProjectionError extends Error {
  override readonly name = "ProjectionError";
  constructor(
    readonly projection: string,
    readonly eventType: string,
    options: { cause: unknown },
  ) {
    super(`projection "${projection}" failed on a ${eventType} event: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }
}

/** A document as last read or written: its version (0: none exists) and content. */
interface Known {
  readonly version: number;
  readonly data: object | null;
}

/**
 * Inline projections run in the command's append: after decide, the documents the new events
 * name are read (from a cache of what this process last wrote, else the store), evolved, and
 * added to the append with the version they were read at. A document another command or
 * process changed meanwhile makes the append a conflict naming it; the pipeline decides
 * again on fresh reads, so a per-guest summary fed by many bookings loses no update.
 */
export function createInlineProjections(store: EventStore, projections: readonly AnyProjection[], cacheSize = 10_000) {
  const inline = projections.filter((p) => p.mode === "inline");
  // Refused when the app is made, not at each command: a store without documents cannot keep an inline read model.
  if (inline.length > 0 && !store.fetchDocument) {
    throw new TypeError(`the event store keeps no read-model documents, so the inline projections ${inline.map((p) => p.collection).join(", ")} cannot run on it`);
  }
  const byType = new Map<string, AnyProjection[]>();
  for (const projection of inline) {
    for (const type of projection.eventTypes) byType.set(type, [...(byType.get(type) ?? []), projection]);
  }
  const byCollection = new Map(projections.map((p) => [p.collection, p]));
  const cache = cacheSize > 0 ? new LRUCache<string, Known>({ max: cacheSize }) : undefined;
  const keyOf = (tenant: string, collection: string, id: string) => `${tenant}\u0000${collection}\u0000${id}`;

  async function read(tenant: string, collection: string, id: string): Promise<Known> {
    const cached = cache?.get(keyOf(tenant, collection, id));
    if (cached) return cached;
    const row = await store.fetchDocument!(tenant, collection, id);
    return row ? { version: row.version, data: row.data as object } : { version: 0, data: null };
  }

  return {
    /** True when some inline projection handles an event of this type. */
    handles: (type: string) => byType.has(type),
    /**
     * The document writes the command's new events make (`fromRevision`: the stream's revision
     * before them), or undefined when no inline projection handles them. Positions are not
     * known before the append: inline projections see position 0.
     */
    async documentsFor(tenant: string, streamId: string, fromRevision: number, events: readonly NewEvent[]): Promise<DocumentWrite[] | undefined> {
      if (!events.some((e) => byType.has(e.type))) return undefined;
      const touched = new Map<string, { projection: AnyProjection; collection: string; id: string; read: Known; data: object | null }>();
      for (const [i, e] of events.entries()) {
        const event: ProjectedEvent = { type: e.type, data: e.data, streamId, revision: fromRevision + 1 + i, position: 0 };
        for (const projection of byType.get(e.type) ?? []) {
          const collection = storedCollectionOf(projection);
          let id: string | undefined;
          let related: object | undefined;
          try {
            id = projection.documentId(event, e.metadata);
            const from = projection.documentIdFrom;
            const key = id === undefined && from ? from.idOf(event, e.metadata) : undefined;
            if (key !== undefined) {
              const other = await read(tenant, storedCollectionOf(byCollection.get(from!.collection) ?? { collection: from!.collection, version: 1 }), key);
              related = other.data ?? undefined;
              id = other.data === null ? undefined : from!.documentId(other.data);
            }
          } catch (cause) {
            throw new ProjectionError(projection.collection, e.type, { cause });
          }
          if (id === undefined) continue;
          const key = keyOf(tenant, collection, id);
          let entry = touched.get(key);
          if (!entry) {
            const known = await read(tenant, collection, id);
            entry = { projection, collection, id, read: known, data: known.data };
            touched.set(key, entry);
          }
          try {
            entry.data = projection.evolve(entry.data, event, e.metadata, related);
          } catch (cause) {
            throw new ProjectionError(projection.collection, e.type, { cause });
          }
        }
      }
      const writes: DocumentWrite[] = [];
      for (const { projection, collection, id, read: known, data } of touched.values()) {
        if (data === null && known.version === 0) continue;
        let fields: DocumentWrite["fields"] = {};
        if (data !== null) {
          try {
            fields = indexedFieldsOf(projection.collection, projection.fields, data);
          } catch (cause) {
            throw new ProjectionError(projection.collection, events[events.length - 1].type, { cause });
          }
        }
        writes.push({ collection, id, ...(known.version > 0 ? { expectedVersion: known.version } : {}), document: data, fields });
      }
      return writes.length > 0 ? writes : undefined;
    },
    /** After the append: keeps the documents written as they now are; forgets those whose version is in doubt. */
    settled(tenant: string, writes: readonly DocumentWrite[] | undefined, outcome: AppendOutcome | undefined): void {
      if (!cache || !writes) return;
      for (const w of writes) {
        const key = keyOf(tenant, w.collection, w.id);
        if (outcome?.kind === "appended") cache.set(key, { version: w.document === null ? 0 : (w.expectedVersion ?? 0) + 1, data: w.document as object | null });
        else cache.delete(key);
      }
    },
  };
}

export type InlineProjections = ReturnType<typeof createInlineProjections>;
