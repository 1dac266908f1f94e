import { z } from "zod";
import { isCalendarDate } from "./date-range.js";
import { isCurrency } from "./money.js";

/** Longest identifier accepted anywhere in a payload. */
export const MAX_ID_LENGTH = 64;

/** An identifier: 1–64 characters of letters, digits, "_", ".", ":" and "-". */
export function identifier(what: string) {
  return z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} is required`)
    .max(MAX_ID_LENGTH, `${what} is longer than ${MAX_ID_LENGTH} characters`)
    // The empty string is left to min(1), so it gets one clear message.
    .regex(/^(?:[A-Za-z0-9][A-Za-z0-9_.:-]*)?$/, `${what} may hold only letters, digits, "_", ".", ":" and "-"`);
}

const DECIMAL = /^\d{1,15}(\.\d{1,15})?$/;

/** True for a decimal string such as "120.50" (whatever the currency's precision). */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/**
 * A positive decimal amount as a string, "120.50"; precision is checked against the currency
 * later. The message leaves the field's name (a price, an amount) to the violation.
 */
export const decimalAmount = z
  .string({ error: "must be a decimal string such as \"120.50\"" })
  .regex(DECIMAL, "must be a decimal string such as \"120.50\"");

/** An ISO 4217 currency code. */
export const currencyCode = z
  .string({ error: "currency must be a string" })
  .refine(isCurrency, { error: (issue) => `"${String(issue.input).slice(0, 12)}" is not an ISO 4217 currency code` });

/** Free text up to `max` characters. */
export function text(what: string, max: number) {
  return z.string({ error: `${what} must be a string` }).max(max, `${what} is longer than ${max} characters`);
}

/** An RFC 3339 instant with an offset, e.g. "2026-05-01T10:00:00Z". */
export const instant = z.iso.datetime({
  offset: true,
  error: (issue) => (issue.input === undefined ? "is required" : "must be an RFC 3339 timestamp such as 2026-05-01T10:00:00Z"),
});

/** A real calendar date written YYYY-MM-DD. */
export function calendarDate(what: string) {
  return z
    .string({ error: `${what} must be a date like 2026-05-01` })
    .refine(isCalendarDate, { error: (issue) => `${what} "${String(issue.input).slice(0, 40)}" is not a date like 2026-05-01` });
}

/** True when every named key of a partly-parsed object holds a string (for cross-field checks). */
export function hasStrings(value: unknown, ...keys: string[]): boolean {
  return typeof value === "object" && value !== null && keys.every((k) => typeof (value as Record<string, unknown>)[k] === "string");
}
