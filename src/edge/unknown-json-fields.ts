import { fromJson, type DescField, type DescMessage } from "@bufbuild/protobuf";
import type { Violation } from "../kernel/result.js";

/** Most unknown fields named in one answer; a body of thousands of typos gets the first ones. */
const MAX_NAMED = 20;

/**
 * The members of a request's JSON that are no field of its message, as violations named by
 * the path the caller wrote ("expectedRevison", "stay.chekIn", "items[2].sku"). protobuf-es's
 * `fromJson` with `ignoreUnknownFields: false` stops at the first such key and names no path,
 * and connect-node reads JSON with unknown fields ignored, so a typo would silently drop a
 * field (an `expected_revision` that guards nothing). Well-known types (Timestamp, Struct, …)
 * have JSON forms of their own and are left to the decoder: a Struct takes any keys.
 */
export function unknownJsonFields(schema: DescMessage, json: unknown): Violation[] {
  const found: Violation[] = [];
  walk(schema, json, "", found);
  return found;
}

function walk(schema: DescMessage, json: unknown, path: string, found: Violation[]): void {
  if (typeof json !== "object" || json === null || Array.isArray(json) || isWellKnown(schema)) return;
  for (const [key, value] of Object.entries(json)) {
    if (found.length >= MAX_NAMED) return;
    const name = key.slice(0, 64);
    const at = path ? `${path}.${name}` : name;
    const field = fieldNamed(schema, key);
    if (!field) {
      const known = schema.fields.length > 0 ? `its fields: ${schema.fields.map((f) => f.jsonName).join(", ")}` : "it has no fields";
      found.push({ field: at, description: `"${name}" is not a field of ${schema.typeName} (${known})` });
      continue;
    }
    walkValue(field, value, at, found);
  }
}

function walkValue(field: DescField, value: unknown, path: string, found: Violation[]): void {
  if (field.fieldKind === "message") walk(field.message, value, path, found);
  else if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
    value.forEach((item, i) => walk(field.message, item, `${path}[${i}]`, found));
  } else if (field.fieldKind === "map" && field.mapKind === "message" && typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) walk(field.message, item, `${path}.${key}`, found);
  }
}

/** The field a JSON key names: by its JSON name or its proto name, as protobuf-es reads both. */
function fieldNamed(schema: DescMessage, key: string): DescField | undefined {
  return schema.fields.find((f) => f.jsonName === key || f.name === key);
}

function isWellKnown(schema: DescMessage): boolean {
  return schema.typeName.startsWith("google.protobuf.");
}

/**
 * The members of a request's JSON that do not decode as their field (a Timestamp that is no
 * RFC 3339 time, a string where a number goes, a list where a Struct goes), named by the
 * field's proto name as on the gRPC port ("paid_at", "stay.check_in"). protobuf-es's
 * `fromJson` stops at the first failure, often naming only the type that failed, so each
 * member is decoded alone, and a message field's members in turn; this runs only once the
 * whole body has failed to decode. Empty when no member fails alone (two members of one
 * oneof, say): the caller then reports the decoder's own reason.
 */
export function invalidJsonFields(schema: DescMessage, json: unknown, path = ""): Violation[] {
  if (typeof json !== "object" || json === null || Array.isArray(json) || isWellKnown(schema)) return [];
  const found: Violation[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (found.length >= MAX_NAMED) break;
    try {
      fromJson(schema, { [key]: value } as never);
      continue;
    } catch (error) {
      const field = fieldNamed(schema, key);
      const at = `${path ? `${path}.` : ""}${field?.name ?? key.slice(0, 64)}`;
      const deeper = field?.fieldKind === "message" ? invalidJsonFields(field.message, value, at) : [];
      found.push(...(deeper.length > 0 ? deeper : [{ field: at, description: (error instanceof Error ? error.message : String(error)).slice(0, 300) }]));
    }
  }
  return found;
}
