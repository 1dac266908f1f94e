import type { EventMetadata } from "./events.js";

/** The types a projection's queryable fields may have; each maps onto an indexed column. */
export type FieldType = "string" | "number" | "boolean" | "timestamp";

/** An event as a projection sees it: its type and data, where it was written and its position. */
export interface ProjectedEvent {
  readonly type: string;
  readonly data: unknown;
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
}

/**
 * A read model kept by folding events into documents (the Domain module's state manager reads
 * them): a collection of JSON documents per tenant, each changed by the events that name it.
 * `evolve` is pure: no clock, no I/O; it returns the new document, or null to delete it.
 */
export interface Projection<D extends object = Record<string, unknown>> {
  /** The collection's name, e.g. "bookings"; lower_snake_case. */
  readonly collection: string;
  /** Raised when evolve or the fields change: a new version is rebuilt from all events and swapped in. */
  readonly version: number;
  /** "inline": documents change in the transaction of the events; "async": a checkpointed consumer follows. */
  readonly mode: "inline" | "async";
  /** The event types it handles; others never reach evolve. */
  readonly eventTypes: readonly string[];
  /**
   * The document an event changes (a booking id, a guest id), or undefined when it changes
   * none or `documentIdFrom` names it. Inline projections run before the append, so the
   * events they see have position 0.
   */
  documentId(event: ProjectedEvent, metadata: EventMetadata): string | undefined;
  /**
   * For events that do not carry the document's id (a payment names its booking, not its
   * guest): the id is read from another read model's document, e.g. the `bookings` document
   * of the payment's booking gives the guest. Asked when documentId answers undefined; the
   * other read model must hold that value from the event's first one on, and never change it.
   */
  readonly documentIdFrom?: {
    readonly collection: string;
    idOf(event: ProjectedEvent, metadata: EventMetadata): string | undefined;
    documentId(document: any): string | undefined;
  };
  /**
   * The next document. `related` is the other read model's document documentIdFrom read for
   * this event, when it read one: what that document holds (a booking's dates) need not be
   * copied into this one.
   */
  evolve(document: D | null, event: ProjectedEvent, metadata: EventMetadata, related?: any): D | null;
  /** The fields a query may filter and order by, with their types: only these are indexed and queryable (at most MAX_FIELDS). */
  readonly fields: Readonly<Record<string, FieldType>>;
}

/** Most fields a projection declares: SQLite keeps each in a column of the document's row. */
export const MAX_FIELDS = 16;

/** Declares a projection; lets TypeScript infer the document type, and refuses more than MAX_FIELDS fields. */
export function defineProjection<D extends object>(projection: Projection<D>): Projection<D> {
  const declared = Object.keys(projection.fields);
  if (declared.length > MAX_FIELDS) {
    throw new RangeError(`projection ${projection.collection} declares ${declared.length} fields; a projection declares at most ${MAX_FIELDS}`);
  }
  return projection;
}

/** Any projection, for registries that hold several. */
export type AnyProjection = Projection<any>;
