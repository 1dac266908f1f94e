import type { JsonObject } from "@bufbuild/protobuf";
import { z } from "zod";
import { badRequest } from "../../edge/command-error.js";
import type { Filter } from "../../read/read-models.js";

/** A value a field may be compared with. */
const fieldValue = z.union([z.string(), z.number(), z.boolean()], { error: "must be a string, number or boolean" });

/** A field's condition: a value (equality), or an object of comparisons. */
const condition = z.union(
  [
    fieldValue,
    z.strictObject({
      eq: fieldValue.optional(),
      in: z.array(fieldValue).optional(),
      gt: fieldValue.optional(),
      gte: fieldValue.optional(),
      lt: fieldValue.optional(),
      lte: fieldValue.optional(),
    }),
  ],
  { error: 'must be a value, or an object of "eq", "in" (a list), "gt", "gte", "lt", "lte"' },
);

const filterSchema = z.record(z.string(), condition);

/** Most characters of a filter's field name an error repeats. */
const MAX_FIELD_NAME = 100;

/**
 * FindRequest.filter (a google.protobuf.Struct) as a read model Filter, its shape checked here
 * so a condition the wire can carry but a filter cannot hold (null, a nested list) is
 * INVALID_ARGUMENT naming it; which fields and types the collection accepts, the read model checks.
 */
export function filterOf(filter: JsonObject | undefined): Filter {
  const parsed = filterSchema.safeParse(filter ?? {});
  if (parsed.success) return parsed.data;
  // A field name is clipped: a caller's megabyte-long key would not fit in the error's trailer.
  const fieldOf = (path: readonly PropertyKey[]) => ["filter", ...path.map((key) => String(key).slice(0, MAX_FIELD_NAME))].join(".");
  throw badRequest(
    parsed.error.issues.map((issue) => ({ field: fieldOf(issue.path), description: issue.message || "is not a valid condition" })),
    "INVALID_FILTER",
  );
}
