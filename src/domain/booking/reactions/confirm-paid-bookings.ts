import { defineReaction } from "../../../kernel/reaction.js";
import type { BookingConfirmed, BookingFullyPaid } from "../events.js";
import { confirmBooking } from "../commands/confirm-booking.js";
import type { BookingPorts } from "../guest-notifier.js";

/**
 * A booking paid in full is confirmed, and the guest is told once it is. Telling follows
 * BookingConfirmed rather than the payment: a booking cancelled before the confirmation ran is
 * refused confirmation and its guest hears nothing, and a confirmation happens once however
 * often a payment is redelivered.
 */
export const confirmPaidBookings = defineReaction<BookingPorts>()({
  name: "booking.confirm-paid-bookings",
  eventTypes: ["BookingFullyPaid", "BookingConfirmed"],
  react(event, { issue, call }) {
    if (event.type === "BookingFullyPaid") {
      const { bookingId } = event.data as BookingFullyPaid["data"];
      return [issue(confirmBooking, { bookingId })];
    }
    const { bookingId, confirmedAt, guestId, roomId, checkIn, checkOut } = event.data as BookingConfirmed["data"];
    return [call("guestNotifier", "bookingConfirmed", { tenant: event.tenant, bookingId, guestId, roomId, checkIn, checkOut, confirmedAt })];
  },
});
