import { z } from "zod";
import { defineCommand } from "../../../kernel/command.js";
import { accept, reject } from "../../../kernel/decision.js";
import { event } from "../../../kernel/events.js";
import { identifier, text } from "../../values/fields.js";
import { booking, type BookingState } from "../booking.js";
import { writeOwnBooking } from "../policies.js";
import { room } from "../room.js";

const payload = z.strictObject({
  bookingId: identifier("bookingId"),
  reason: text("reason", 500).min(1, "reason is required"),
});

/**
 * Cancels a booking; a guest may cancel their own, staff any. The booking's nights are
 * released on its room in the same command (the room is found on the booking).
 */
export const cancelBooking = defineCommand({
  type: "booking.CancelBooking",
  aggregate: booking,
  payload,
  aggregateIdField: "bookingId",
  stream: "must-exist",
  policy: writeOwnBooking,
  rejections: ["BOOKING_ALREADY_CANCELLED"],
  related: { room: { aggregate: room, id: (_p: unknown, state: BookingState) => state.roomId } },
  decide(state, { payload: p }, ctx) {
    if (state.status === "cancelled") return reject("BOOKING_ALREADY_CANCELLED", `booking ${p.bookingId} is already cancelled`);
    const now = ctx.clock().toISOString();
    const cancelled = event("BookingCancelled", { bookingId: p.bookingId, reason: p.reason, cancelledAt: now });
    // A stay the room no longer holds (it ended, or was booked before rooms kept nights) has nothing to release.
    const held = ctx.related.room.reservations.some((r) => r.bookingId === p.bookingId);
    if (!held) return cancelled;
    const { roomId, checkIn, checkOut } = state;
    const released = event("NightsReleased", { roomId, bookingId: p.bookingId, checkIn, checkOut, releasedOn: now.slice(0, 10) });
    return accept([cancelled], undefined, { related: { room: [released] } });
  },
});
