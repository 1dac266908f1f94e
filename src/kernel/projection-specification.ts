import assert from "node:assert/strict";
import type { EventMetadata } from "./events.js";
import type { AnyProjection, ProjectedEvent } from "./projection.js";

/** An event of a projection's history: its stream (for revisions and document ids) and, optionally, its metadata. */
export interface GivenEvent {
  readonly type: string;
  readonly data: unknown;
  readonly streamId: string;
  readonly metadata?: Partial<EventMetadata>;
}

/** Checks on the documents a history folds into; each throws an AssertionError when it does not hold. */
export interface ThenDocuments {
  /** The collection holds exactly these documents, by id. */
  thenDocuments(expected: Readonly<Record<string, unknown>>): ThenDocuments;
  /** The document of this id, checked by a function (for values a test cannot spell out). */
  thenDocument(id: string, check: (document: any) => void): ThenDocuments;
}

const DEFAULT_METADATA: EventMetadata = {
  commandId: "command",
  commandType: "test.Command",
  requestId: "request",
  correlationId: "request",
  causationId: "command",
  tenant: "default",
  timestamp: "2026-01-01T00:00:00.000Z",
};

/**
 * Given/When/Then for projections, with no store: `givenEvents(bookings, [roomBooked,
 * paymentRecorded]).thenDocuments({ "b-1": {...} })`. The events are folded in order, each
 * with its stream's next revision and the next position, as an async projection or a rebuild
 * sees them. `related` are the read models a projection's documentIdFrom reads, folded from the same events.
 */
export function givenEvents(projection: AnyProjection, events: readonly GivenEvent[], options: { related?: readonly AnyProjection[] } = {}): ThenDocuments {
  const related = new Map((options.related ?? []).map((r) => [r.collection, foldAll(r, events)]));
  const documents = foldAll(projection, events, (collection, id) => related.get(collection)?.get(id));
  const checks: ThenDocuments = {
    thenDocuments(expected) {
      assert.deepEqual(Object.fromEntries(documents), expected);
      return checks;
    },
    thenDocument(id, check) {
      const document = documents.get(id);
      assert.ok(document, `no document "${id}" in ${projection.collection}; there are ${[...documents.keys()].join(", ") || "none"}`);
      check(document);
      return checks;
    },
  };
  return checks;
}

/** Folds a history into a projection's documents; `lookup` reads another read model's for documentIdFrom. */
function foldAll(projection: AnyProjection, events: readonly GivenEvent[], lookup?: (collection: string, id: string) => object | undefined): Map<string, object> {
  const documents = new Map<string, object>();
  const revisions = new Map<string, number>();
  events.forEach((e, i) => {
    const revision = (revisions.get(e.streamId) ?? 0) + 1;
    revisions.set(e.streamId, revision);
    if (!projection.eventTypes.includes(e.type)) return;
    const event: ProjectedEvent = { type: e.type, data: e.data, streamId: e.streamId, revision, position: i + 1 };
    const metadata = { ...DEFAULT_METADATA, ...e.metadata };
    const from = projection.documentIdFrom;
    let id = projection.documentId(event, metadata);
    let other: object | undefined;
    if (id === undefined && from && lookup) {
      const key = from.idOf(event, metadata);
      other = key === undefined ? undefined : lookup(from.collection, key);
      id = other === undefined ? undefined : from.documentId(other);
    }
    if (id === undefined) return;
    const next = projection.evolve(documents.get(id) ?? null, event, metadata, other);
    if (next === null) documents.delete(id);
    else documents.set(id, next);
  });
  return documents;
}
