import { randomUUID } from "node:crypto";

/** A short unique id with a readable prefix, e.g. "B-1a2b3c4d". */
export const newId = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/**
 * A valid booking.v1 BookRoomRequest for a stay in 2030 (always in the future), with
 * overrides; each booking has a room of its own (named like it), so no two collide.
 */
export function bookRoomRequest(bookingId: string, overrides: { guestId?: string; requestId?: string; price?: string } = {}) {
  return {
    bookingId,
    roomId: bookingId,
    guestId: "guest-1",
    checkIn: "2030-01-01",
    checkOut: "2030-01-04",
    price: "300.00",
    currency: "EUR",
    requestId: newId("book"),
    ...overrides,
  };
}
