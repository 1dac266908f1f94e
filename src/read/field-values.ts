import type { FieldType } from "../kernel/projection.js";
import type { IndexedValue } from "../store/event-store.js";

/**
 * A declared field's value as the stores index it: strings as they are, numbers, booleans as
 * 1/0, timestamps as epoch milliseconds (an ISO string, a Date or a number); undefined when
 * the value is not of the field's type (a document's value then leaves the field unindexed,
 * a filter's is refused).
 */
export function indexedValueOf(type: FieldType, value: unknown): IndexedValue | undefined {
  switch (type) {
    case "string":
      return typeof value === "string" ? value : undefined;
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? value : undefined;
    case "boolean":
      return typeof value === "boolean" ? Number(value) : undefined;
    case "timestamp": {
      const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : typeof value === "number" ? value : Number.NaN;
      return Number.isFinite(ms) ? ms : undefined;
    }
  }
}

/**
 * A document's values of its projection's declared fields. A value of another type than
 * declared is a bug in the projection: it throws, naming the field, so the command fails
 * instead of storing a document its queries could not find.
 */
export function indexedFieldsOf(collection: string, fields: Readonly<Record<string, FieldType>>, document: object): Record<string, IndexedValue> {
  const indexed: Record<string, IndexedValue> = {};
  for (const [field, type] of Object.entries(fields)) {
    const value = (document as Record<string, unknown>)[field];
    if (value === undefined || value === null) continue;
    const stored = indexedValueOf(type, value);
    if (stored === undefined) throw new TypeError(`projection "${collection}": field "${field}" is declared ${type} but the document holds ${JSON.stringify(value)}`);
    indexed[field] = stored;
  }
  return indexed;
}

/** The collection a projection's version is stored under: a rebuild writes the next version beside the live one. */
export function storedCollectionOf(projection: { readonly collection: string; readonly version: number }): string {
  return `${projection.collection}@${projection.version}`;
}
