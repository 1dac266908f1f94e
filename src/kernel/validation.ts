import type { z } from "zod";
import type { Violation } from "./result.js";

/** Turns zod issues into violations with dotted field paths. */
export function violationsOf(error: z.ZodError): Violation[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join("."),
    description: issue.message,
  }));
}

/** Parses a payload; either the value objects or the violations naming each bad field. */
export function parsePayload<Schema extends z.ZodType>(
  schema: Schema,
  payload: unknown,
): { ok: true; value: z.output<Schema> } | { ok: false; violations: Violation[] } {
  const parsed = schema.safeParse(payload);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, violations: violationsOf(parsed.error) };
}
