import type { z } from "zod";
import type { Violation } from "./result.js";

/** Most unknown keys of one object named; a payload of thousands gets the first ones. */
const MAX_UNKNOWN_NAMED = 20;

/**
 * Turns zod issues into violations with dotted field paths. A strict object's unknown keys
 * (one issue for all of them) become one violation each, naming the key.
 */
export function violationsOf(error: z.ZodError): Violation[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      return issue.keys.slice(0, MAX_UNKNOWN_NAMED).map((key) => {
        const name = key.slice(0, 64);
        return { field: [...path, name].join("."), description: `"${name}" is not a field of this command` };
      });
    }
    return [{ field: path.join("."), description: issue.message }];
  });
}

/** Parses a payload; either the value objects or the violations naming each bad field. */
export function parsePayload<Schema extends z.ZodType>(
  schema: Schema,
  payload: unknown,
): { ok: true; value: z.output<Schema> } | { ok: false; violations: Violation[] } {
  const parsed = schema.safeParse(payload);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, violations: violationsOf(parsed.error) };
}
