import { z } from "zod";
import { defineCommand } from "../../../kernel/command.js";
import { accept, reject } from "../../../kernel/decision.js";
import { identifier } from "../../values/fields.js";
import { booking } from "../booking.js";
import { writeOwnBooking } from "../policies.js";
import { cancelBooking } from "./cancel-booking.js";

const payload = z.strictObject({ bookingId: identifier("bookingId") });

/** The reason a booking cancelled for want of payment carries. */
export const UNPAID = "unpaid";

/**
 * Cancels a booking that is still not fully paid, with reason "unpaid": BookRoom schedules
 * it after the unpaid-booking time. A booking paid in full is left as it is (an acceptance
 * with no events: the command has nothing left to do, which is not a failure). The
 * cancelling itself is CancelBooking's decision, so whatever cancelling a booking does (such
 * as releasing the room's nights) this does too.
 *
 * Its policy is CancelBooking's, not an internal-only one: a schedule runs with the identity
 * of the caller who booked, who may cancel the booking anyway, so through the generic
 * Execute it allows nothing CancelBooking does not; an internal-only scope would refuse the
 * scheduled run itself.
 */
export const cancelUnpaidBooking = defineCommand({
  type: "booking.CancelUnpaidBooking",
  aggregate: booking,
  payload,
  aggregateIdField: "bookingId",
  stream: "must-exist",
  // CancelBooking's related room: the nights it releases are decided over here too.
  related: cancelBooking.related,
  policy: writeOwnBooking,
  rejections: ["BOOKING_ALREADY_CANCELLED"],
  decide(state, { aggregateId, payload: p }, ctx) {
    if (state.status === "fully_paid" || state.status === "confirmed") return accept([], { cancelled: false, why: `booking ${p.bookingId} is paid in full` });
    if (state.status === "cancelled") return reject("BOOKING_ALREADY_CANCELLED", `booking ${p.bookingId} is already cancelled`);
    return cancelBooking.decide(state, { aggregateId, payload: { bookingId: p.bookingId, reason: UNPAID } }, ctx);
  },
});
