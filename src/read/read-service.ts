import { randomBytes } from "node:crypto";
import type { AnyProjection, FieldType } from "../kernel/projection.js";
import type { EventFeed } from "../consumer/event-feed.js";
import { builtSettingOf, type DocumentCondition, type DocumentQuery, type DocumentRow, type EventStore, type IndexedValue } from "../store/event-store.js";
import { indexedValueOf, storedCollectionOf } from "./field-values.js";
import { pageTokens, type Keyset } from "./page-token.js";
import { QueryError, type FieldCondition, type Filter, type FindOptions, type Page, type ReadModels, type ReadOptions, type StoredDocument } from "./read-models.js";

/** Page size when none is asked for, and the most a page holds (AIP-158: larger requests are capped). */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
/** The most documents `query` returns. */
export const MAX_QUERY_RESULT = 10_000;
/** How long a read with minPosition and no signal waits for an async read model, in ms. */
const DEFAULT_WAIT_MS = 5000;
/** How often an async read model's checkpoint is looked at while a read waits for it, in ms. */
const CHECKPOINT_POLL_MS = 10;
/** The most values an `in` condition may list. */
const MAX_IN_VALUES = 100;
const OPERATORS = new Set(["eq", "in", "gt", "gte", "lt", "lte"]);

/** The name an async projection's consumer (its lease and checkpoint) goes by. */
export function consumerNameOf(projection: AnyProjection): string {
  return `projection:${storedCollectionOf(projection)}`;
}

/** What the read side needs. */
export interface ReadServiceOptions {
  readonly store: EventStore;
  readonly projections: readonly AnyProjection[];
  readonly feed: EventFeed;
}

/** A filter as the store takes it, with the text a page token is bound to. */
interface CheckedQuery {
  readonly projection: AnyProjection;
  readonly where: DocumentCondition[];
  readonly orderBy?: DocumentQuery["orderBy"];
  readonly binding: string;
}

/**
 * The query side: fetch, find, findOne and query over the registered read models, every call
 * in the caller's tenant. Filters and orders name declared fields only, anything else is a
 * QueryError naming the field; pages are keyset pages behind signed tokens; minPosition waits
 * for the read models read to have applied that position.
 */
export function createReadModels({ store, projections, feed }: ReadServiceOptions): ReadModels {
  const byName = new Map(projections.map((p) => [p.collection, p]));
  const { fetchDocument, findDocuments } = store;
  let tokens: Promise<ReturnType<typeof pageTokens>> | undefined;
  /** The token signer, its key read (or made, by the first process) from the store once. */
  const signer = () => {
    tokens ??= (async () => {
      const key = store.sharedSetting ? await store.sharedSetting("page-token-key", randomBytes(32).toString("base64url")) : randomBytes(32).toString("base64url");
      return pageTokens(key);
    })();
    tokens.catch(() => (tokens = undefined));
    return tokens;
  };

  function projectionOf(collection: string): AnyProjection {
    const projection = byName.get(collection);
    if (!projection || !fetchDocument || !findDocuments) {
      throw new QueryError("UNKNOWN_COLLECTION", `no read model "${String(collection).slice(0, 64)}"; the read models are ${[...byName.keys()].join(", ") || "none"}`);
    }
    return projection;
  }

  /** Stored collections known to be built; one never built (a new version deployed) is being rebuilt. */
  const built = new Set<string>();
  async function isBuilt(projection: AnyProjection): Promise<boolean> {
    const collection = storedCollectionOf(projection);
    if (built.has(collection) || !store.sharedSetting) return true;
    if ((await store.sharedSetting(builtSettingOf(collection), "no")) !== "yes") return false;
    built.add(collection);
    return true;
  }

  /** Waits until the read model has been built and has applied every event up to minPosition, within the signal. */
  async function caughtUp(projection: AnyProjection, options: ReadOptions): Promise<void> {
    if (!(await isBuilt(projection))) {
      const signal = options.signal ?? AbortSignal.timeout(DEFAULT_WAIT_MS);
      while (!(await isBuilt(projection))) {
        if (signal.aborted) throw new QueryError("NOT_CAUGHT_UP", `read model ${projection.collection} (version ${projection.version}) is being rebuilt from the events`, { position: 0 });
        await pause(signal);
      }
    }
    const wanted = options.minPosition;
    if (wanted === undefined || wanted <= 0) return;
    const signal = options.signal ?? AbortSignal.timeout(DEFAULT_WAIT_MS);
    if (projection.mode === "inline") {
      // Inline documents commit with their events: the position committed is the read model's.
      if (feed.head >= wanted || (await store.headPosition()) >= wanted) return;
      await feed.open();
      try {
        while (!signal.aborted && feed.head < wanted) await feed.waitBeyond(wanted - 1, 1000, signal);
        if (feed.head >= wanted) return;
        throw notCaughtUp(projection, wanted, feed.head);
      } finally {
        feed.close();
      }
    }
    const name = consumerNameOf(projection);
    for (;;) {
      const reached = await store.consumerCheckpoint!(name);
      if (reached >= wanted) return;
      if (signal.aborted) throw notCaughtUp(projection, wanted, reached);
      await pause(signal);
    }
  }

  function check(collection: string, filter: Filter, orderBy: FindOptions["orderBy"], tenant: string): CheckedQuery {
    const projection = projectionOf(collection);
    const where = conditionsOf(projection, filter ?? {});
    let order: DocumentQuery["orderBy"];
    if (orderBy) {
      const type = projection.fields[orderBy.field];
      if (!Object.hasOwn(projection.fields, orderBy.field) || !type) {
        throw new QueryError("INVALID_ORDER", `${collection} cannot be ordered by "${String(orderBy.field).slice(0, 64)}"; it can be ordered by ${declared(projection)}`, { field: String(orderBy.field) });
      }
      const direction = orderBy.direction ?? "asc";
      if (direction !== "asc" && direction !== "desc") throw new QueryError("INVALID_ORDER", `order direction must be "asc" or "desc"`, { field: "direction" });
      order = { field: orderBy.field, numeric: type !== "string", direction };
    }
    const binding = JSON.stringify([tenant, collection, where.map((c) => Object.values(c)).sort(), order ? [order.field, order.direction] : null]);
    return { projection, where, orderBy: order, binding };
  }

  async function page(tenant: string, q: CheckedQuery, limit: number, after: Keyset | undefined): Promise<DocumentRow[]> {
    return findDocuments!(tenant, storedCollectionOf(q.projection), { where: q.where, orderBy: q.orderBy, after, limit });
  }

  const read: ReadModels = {
    collections: () => new Map(projections.map((p) => [p.collection, { ...p.fields } as Record<string, string>])),
    async fetch(collection, id, options) {
      const projection = projectionOf(collection);
      await caughtUp(projection, options);
      const row = await fetchDocument!(options.tenant, storedCollectionOf(projection), String(id));
      return row && documentOf(row);
    },
    async find(collection, filter, options) {
      const q = check(collection, filter, options.orderBy, options.tenant);
      const size = pageSizeOf(options.pageSize);
      let after: Keyset | undefined;
      const signed = await signer();
      if (options.pageToken) {
        after = signed.open(q.binding, options.pageToken);
        if (!after) throw new QueryError("INVALID_PAGE_TOKEN", "the page token was changed, forged, or belongs to another tenant, collection, filter or order", { field: "pageToken" });
      }
      await caughtUp(q.projection, options);
      const rows = await page(options.tenant, q, size + 1, after);
      const documents = rows.slice(0, size);
      const last = documents[documents.length - 1];
      const nextPageToken = rows.length > size ? signed.issue(q.binding, q.orderBy ? { value: last.orderValue, id: last.id } : { id: last.id }) : "";
      return { documents: documents.map(documentOf), nextPageToken } satisfies Page;
    },
    async findOne(collection, filter, options) {
      const q = check(collection, filter, undefined, options.tenant);
      await caughtUp(q.projection, options);
      const [row] = await page(options.tenant, q, 1, undefined);
      return row && documentOf(row);
    },
    async query(collection, filter, options) {
      const q = check(collection, filter, options.orderBy, options.tenant);
      await caughtUp(q.projection, options);
      const found: StoredDocument[] = [];
      let after: Keyset | undefined;
      for (;;) {
        const rows = await page(options.tenant, q, MAX_PAGE_SIZE, after);
        found.push(...rows.map(documentOf));
        if (found.length > MAX_QUERY_RESULT) {
          throw new QueryError("RESULT_TOO_LARGE", `more than ${MAX_QUERY_RESULT} documents match; narrow the filter or page with find`);
        }
        if (rows.length < MAX_PAGE_SIZE) return found;
        const last = rows[rows.length - 1];
        after = q.orderBy ? { value: last.orderValue, id: last.id } : { id: last.id };
      }
    },
  };
  return read;
}

/** Waits a poll interval, or less when the signal aborts. */
function pause(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, CHECKPOINT_POLL_MS);
    signal.addEventListener("abort", done, { once: true });
  });
}

function documentOf(row: DocumentRow): StoredDocument {
  return { id: row.id, data: row.data as Record<string, unknown>, version: row.version };
}

function notCaughtUp(projection: AnyProjection, wanted: number, reached: number): QueryError {
  return new QueryError("NOT_CAUGHT_UP", `read model ${projection.collection} has applied events up to position ${reached}, not yet ${wanted}`, { position: reached });
}

function declared(projection: AnyProjection): string {
  return Object.keys(projection.fields).join(", ") || "no field";
}

/** AIP-158: absent or 0 is the default, larger than the most is capped, negative is refused. */
function pageSizeOf(requested: number | undefined): number {
  if (requested === undefined || requested === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(requested) || requested < 0) throw new QueryError("INVALID_PAGE_SIZE", `page size must be a whole number, 0 or more; got ${requested}`, { field: "pageSize" });
  return Math.min(requested, MAX_PAGE_SIZE);
}

/** Most characters of an undeclared field's name a refusal repeats. */
const MAX_FIELD_NAME_SHOWN = 64;

/** A filter's conditions as the store takes them, each field and value checked against the declaration. */
function conditionsOf(projection: AnyProjection, filter: Filter): DocumentCondition[] {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) throw new QueryError("INVALID_FILTER", "a filter is an object of declared fields", { field: "filter" });
  const conditions: DocumentCondition[] = [];
  for (const [field, condition] of Object.entries(filter)) {
    const type = Object.hasOwn(projection.fields, field) ? projection.fields[field] : undefined;
    // The name is clipped: a caller's megabyte-long key would not fit in an error's trailer.
    const named = field.slice(0, MAX_FIELD_NAME_SHOWN);
    if (!type) throw new QueryError("INVALID_FILTER", `${projection.collection} cannot be filtered by "${named}"; it can be filtered by ${declared(projection)}`, { field: named });
    conditions.push(...fieldConditions(field, type, condition));
  }
  return conditions;
}

function fieldConditions(field: string, type: FieldType, condition: FieldCondition): DocumentCondition[] {
  const value = (raw: unknown, at: string): IndexedValue => {
    const indexed = indexedValueOf(type, raw);
    if (indexed === undefined) throw new QueryError("INVALID_FILTER", `${at} is a ${type} field; ${JSON.stringify(raw)?.slice(0, 64)} is not a ${type}`, { field: at });
    return indexed;
  };
  if (typeof condition !== "object" || condition === null) return [{ field, op: "eq", value: value(condition, field) }];
  if (Array.isArray(condition)) throw new QueryError("INVALID_FILTER", `${field}: use {in: [...]} to match any of several values`, { field });
  // An empty condition would match every document: a caller who sent one meant something else.
  if (Object.keys(condition).length === 0) throw new QueryError("INVALID_FILTER", `${field} has no condition; give a value, or one or more of eq, in, gt, gte, lt, lte`, { field });
  const conditions: DocumentCondition[] = [];
  for (const [op, operand] of Object.entries(condition)) {
    const at = `${field}.${op}`;
    if (!OPERATORS.has(op)) throw new QueryError("INVALID_FILTER", `${at}: unknown operator; use eq, in, gt, gte, lt or lte`, { field: at });
    if (op === "in") {
      if (!Array.isArray(operand) || operand.length > MAX_IN_VALUES) throw new QueryError("INVALID_FILTER", `${at} must be a list of at most ${MAX_IN_VALUES} values`, { field: at });
      conditions.push({ field, op: "in", values: operand.map((v, i) => value(v, `${at}[${i}]`)) });
    } else {
      conditions.push({ field, op: op as "eq", value: value(operand, at) });
    }
  }
  return conditions;
}
