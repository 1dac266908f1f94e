import { z } from "zod";
import { defineCommand } from "../../../kernel/command.js";
import { reject } from "../../../kernel/decision.js";
import { event } from "../../../kernel/events.js";
import { identifier, text } from "../../values/fields.js";
import { booking } from "../booking.js";
import { writeOwnBooking } from "../policies.js";

const payload = z.strictObject({
  bookingId: identifier("bookingId"),
  reason: text("reason", 500).min(1, "reason is required"),
});

/** Cancels a booking; a guest may cancel their own, staff any. */
export const cancelBooking = defineCommand({
  type: "booking.CancelBooking",
  aggregate: booking,
  payload,
  aggregateIdField: "bookingId",
  stream: "must-exist",
  policy: writeOwnBooking,
  rejections: ["BOOKING_ALREADY_CANCELLED"],
  decide(state, { payload: p }, ctx) {
    if (state.status === "cancelled") return reject("BOOKING_ALREADY_CANCELLED", `booking ${p.bookingId} is already cancelled`);
    return event("BookingCancelled", { bookingId: p.bookingId, reason: p.reason, cancelledAt: ctx.clock().toISOString() });
  },
});
