/** An amount in a currency's minor units (cents for EUR), never a float. */
export interface Money {
  readonly amountMinor: number;
  readonly currency: string;
}

/** Largest amount accepted, in minor units: keeps sums exact in a JS number. */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000;

const ISO_4217 = /^[A-Z]{3}$/;
const DECIMAL = /^(\d{1,15})(?:\.(\d{1,15}))?$/;
/** ICU's currency list (Node ships full ICU), read once. */
const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf("currency"));
const minorDigitsCache = new Map<string, number>();

/**
 * Why an amount or currency was refused, naming which of the two is wrong. The message does
 * not repeat the field's name: a command calls its Money a price or an amount, and the
 * violation that carries the message names the field.
 */
export type MoneyProblem = { readonly field: "amount" | "currency"; readonly message: string };

/** True for an ISO 4217 code that ICU knows, e.g. "EUR"; "eur" and "XYZ" are not. */
export function isCurrency(code: string): boolean {
  return ISO_4217.test(code) && KNOWN_CURRENCIES.has(code);
}

/** Minor-unit digits of a currency per ISO 4217 as ICU reports it: EUR 2, JPY 0, BHD 3. */
export function minorDigits(currency: string): number {
  let digits = minorDigitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    minorDigitsCache.set(currency, digits);
  }
  return digits;
}

/** Builds Money from a positive decimal string such as "120.50", checking the currency's precision. */
export function moneyFromDecimal(amount: string, currency: string): Money | MoneyProblem {
  if (!isCurrency(currency)) return { field: "currency", message: `"${currency}" is not an ISO 4217 currency code` };
  const match = DECIMAL.exec(amount);
  if (!match) return { field: "amount", message: `"${clip(amount)}" is not a decimal amount like "120.50"` };
  const digits = minorDigits(currency);
  const fraction = match[2] ?? "";
  if (fraction.length > digits) {
    return { field: "amount", message: `${currency} allows ${digits} decimal places, "${amount}" has ${fraction.length}` };
  }
  return moneyFromMinor(Number(match[1] + fraction.padEnd(digits, "0")), currency);
}

/** Builds Money from an integer count of minor units. */
export function moneyFromMinor(amountMinor: number, currency: string): Money | MoneyProblem {
  if (!isCurrency(currency)) return { field: "currency", message: `"${currency}" is not an ISO 4217 currency code` };
  if (!Number.isInteger(amountMinor)) return { field: "amount", message: "must be a whole number of minor units" };
  if (amountMinor <= 0) return { field: "amount", message: "must be greater than zero" };
  if (amountMinor > MAX_AMOUNT_MINOR) return { field: "amount", message: `exceeds the maximum of ${MAX_AMOUNT_MINOR} minor units` };
  return { amountMinor, currency };
}

/** True when a builder returned a problem rather than Money. */
export function isMoneyProblem(value: Money | MoneyProblem): value is MoneyProblem {
  return "message" in value;
}

/** Formats minor units as a decimal string in the currency's precision: 12050 EUR → "120.50". */
export function formatMinor(amountMinor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = amountMinor < 0 ? "-" : "";
  const text = String(Math.abs(amountMinor)).padStart(digits + 1, "0");
  return digits === 0 ? sign + text : `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
