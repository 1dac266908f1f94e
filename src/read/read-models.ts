/**
 * The query side (the Domain module's state manager: fetch, find, findOne, query) as the edges
 * and in-process callers see it. Every call is scoped to a tenant; a filter or order names only
 * the fields the projection declared, anything else is refused (QueryError INVALID_FILTER).
 */

/** A value a declared field may be compared with. */
export type FieldValue = string | number | boolean;

/** A field's condition: a value (equality), or ranges and `in`. */
export type FieldCondition =
  | FieldValue
  | { readonly eq?: FieldValue; readonly in?: readonly FieldValue[]; readonly gt?: FieldValue; readonly gte?: FieldValue; readonly lt?: FieldValue; readonly lte?: FieldValue };

/** Conditions on declared fields, all of which must hold. */
export type Filter = Readonly<Record<string, FieldCondition>>;

/** A stored document with what a caller may need to reason about it. */
export interface StoredDocument<D = Record<string, unknown>> {
  readonly id: string;
  readonly data: D;
  /** Bumped by every change; guards concurrent writers of the same document. */
  readonly version: number;
}

/** How to read: order, page, and how fresh the read models must be. */
export interface ReadOptions {
  readonly tenant: string;
  /** Waits (within `signal`) until the read models read have applied every event up to here. */
  readonly minPosition?: number;
  readonly signal?: AbortSignal;
}

export interface FindOptions extends ReadOptions {
  /** A declared field, and the direction; the document id breaks ties. Default: by id ascending. */
  readonly orderBy?: { readonly field: string; readonly direction?: "asc" | "desc" };
  /** Default 50, at most 1,000. */
  readonly pageSize?: number;
  /** The nextPageToken of the previous page with the same tenant, filter and order. */
  readonly pageToken?: string;
}

export interface Page<D = Record<string, unknown>> {
  readonly documents: readonly StoredDocument<D>[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
}

/** The read models of a running app. */
export interface ReadModels {
  /** The names of the registered collections, with their declared fields. */
  collections(): ReadonlyMap<string, Readonly<Record<string, string>>>;
  fetch(collection: string, id: string, options: ReadOptions): Promise<StoredDocument | undefined>;
  find(collection: string, filter: Filter, options: FindOptions): Promise<Page>;
  findOne(collection: string, filter: Filter, options: ReadOptions): Promise<StoredDocument | undefined>;
  /** Every matching document (bounded: refuses past 10,000 with QueryError RESULT_TOO_LARGE). */
  query(collection: string, filter: Filter, options: ReadOptions & Pick<FindOptions, "orderBy">): Promise<readonly StoredDocument[]>;
}

/** Why a query was refused or could not be answered; `reason` is stable, the edges map it to a gRPC code. */
export class QueryError extends Error {
  override readonly name = "QueryError";
  constructor(
    /**
     * UNKNOWN_COLLECTION, INVALID_FILTER (names the field), INVALID_ORDER, INVALID_PAGE_SIZE, INVALID_PAGE_TOKEN
     * (forged, changed, or another tenant's or filter's), RESULT_TOO_LARGE, or NOT_CAUGHT_UP
     * (minPosition not reached in time; `position` says how far the read models are).
     */
    readonly reason: string,
    message: string,
    readonly details: { readonly field?: string; readonly position?: number } = {},
  ) {
    super(message);
  }
}
