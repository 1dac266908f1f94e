/** A stay from check-in to check-out, both calendar dates (YYYY-MM-DD), check-in first. */
export interface DateRange {
  readonly checkIn: string;
  readonly checkOut: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD ("2026-02-30" is not one). */
export function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Builds a DateRange, or names the field that is wrong. */
export function dateRange(checkIn: string, checkOut: string): DateRange | { field: "checkIn" | "checkOut"; message: string } {
  if (!isCalendarDate(checkIn)) return { field: "checkIn", message: `"${checkIn.slice(0, 40)}" is not a date like 2026-05-01` };
  if (!isCalendarDate(checkOut)) return { field: "checkOut", message: `"${checkOut.slice(0, 40)}" is not a date like 2026-05-03` };
  if (checkOut <= checkIn) return { field: "checkOut", message: `check-out ${checkOut} must be after check-in ${checkIn}` };
  return { checkIn, checkOut };
}

/** Number of nights in a stay. */
export function nights(range: DateRange): number {
  return Math.round((Date.parse(range.checkOut) - Date.parse(range.checkIn)) / 86_400_000);
}
