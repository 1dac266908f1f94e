import { z } from "zod";
import { defineCommand } from "../../../kernel/command.js";
import { accept, reject } from "../../../kernel/decision.js";
import { event } from "../../../kernel/events.js";
import { identifier } from "../../values/fields.js";
import { booking } from "../booking.js";
import { SCOPES } from "../policies.js";

const payload = z.strictObject({
  bookingId: identifier("bookingId"),
});

/**
 * Confirms a booking paid in full (the confirm-paid-bookings reaction issues it). Confirming a
 * confirmed booking changes nothing, so a repeat is harmless; an unpaid or cancelled one is refused.
 */
export const confirmBooking = defineCommand({
  type: "booking.ConfirmBooking",
  aggregate: booking,
  payload,
  aggregateIdField: "bookingId",
  stream: "must-exist",
  policy: { scopes: [SCOPES.write] },
  rejections: ["BOOKING_CANCELLED", "BOOKING_NOT_PAID"],
  decide(state, { payload: p }, ctx) {
    if (state.status === "confirmed") return accept([], { alreadyConfirmed: true });
    if (state.status === "cancelled") return reject("BOOKING_CANCELLED", `booking ${p.bookingId} is cancelled`);
    if (state.status !== "fully_paid") return reject("BOOKING_NOT_PAID", `booking ${p.bookingId} is not paid in full (${state.outstandingMinor} minor units outstanding)`);
    return accept([event("BookingConfirmed", {
      bookingId: p.bookingId,
      guestId: state.guestId,
      roomId: state.roomId,
      checkIn: state.checkIn,
      checkOut: state.checkOut,
      confirmedAt: ctx.clock().toISOString(),
    })], { alreadyConfirmed: false });
  },
});
