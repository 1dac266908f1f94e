import type { ListBookingsRequest } from "../../gen/booking/v1/booking_pb.js";
import { isCalendarDate } from "../../domain/values/date-range.js";
import { identifier } from "../../domain/values/fields.js";
import { badRequest } from "../../edge/command-error.js";
import type { QueryFieldNames } from "../../edge/query-error.js";
import type { FieldCondition, Filter } from "../../read/read-models.js";

/** The statuses a booking in the read model can be in. */
const STATUSES = ["booked", "fully_paid", "confirmed", "cancelled"];

/** ListBookings' order_by names, and the read model fields they order by. */
const ORDER_FIELDS: Readonly<Record<string, string>> = { check_in: "checkIn", create_time: "createdAt" };

/** The `bookings` read model's fields, and the ListBookings fields that filter on them. */
const FILTER_FIELDS: Readonly<Record<string, string>> = { status: "status", guestId: "guest_id", checkIn: "check_in_from" };

/** How a refused ListBookings names its fields: in the request's words. */
export const LIST_BOOKINGS_FIELDS: QueryFieldNames = {
  filter: (field) => (field ? (FILTER_FIELDS[field] ?? field) : "status"),
  orderBy: "order_by",
  pageToken: "page_token",
};

/** ListBookings' order_by names, as a refusal lists them. */
export const ORDER_NAMES: readonly string[] = Object.keys(ORDER_FIELDS);

/** The read model field a ListBookings order_by name orders by. */
export const orderFieldOf = (name: string): string | undefined => (Object.hasOwn(ORDER_FIELDS, name) ? ORDER_FIELDS[name] : undefined);

const GUEST_ID = identifier("guest_id");

/**
 * The filter a ListBookings request asks for, every field checked first (all violations at
 * once), and narrowed to `ownGuest` when the caller may read only their own bookings.
 */
export function listBookingsFilter(request: ListBookingsRequest, ownGuest: string | undefined): Filter {
  const violations: Array<{ field: string; description: string }> = [];
  if (request.status && !STATUSES.includes(request.status)) {
    violations.push({ field: "status", description: `must be one of ${STATUSES.join(", ")}, got "${request.status.slice(0, 40)}"` });
  }
  if (request.guestId) {
    const guest = GUEST_ID.safeParse(request.guestId);
    if (!guest.success) violations.push({ field: "guest_id", description: guest.error.issues[0].message });
  }
  for (const [field, value] of [["check_in_from", request.checkInFrom], ["check_in_before", request.checkInBefore]] as const) {
    if (value && !isCalendarDate(value)) violations.push({ field, description: `"${value.slice(0, 40)}" is not a date like 2026-05-01` });
  }
  if (violations.length > 0) throw badRequest(violations);
  const filter: Record<string, FieldCondition> = {};
  if (request.status) filter.status = request.status;
  const guest = ownGuest ?? request.guestId;
  if (guest) filter.guestId = guest;
  if (request.checkInFrom || request.checkInBefore) {
    filter.checkIn = { ...(request.checkInFrom ? { gte: request.checkInFrom } : {}), ...(request.checkInBefore ? { lt: request.checkInBefore } : {}) };
  }
  return filter;
}
