import { describe, it } from "node:test";
import { fixedClock } from "../../src/kernel/collaborators.js";
import { given } from "../../src/kernel/specification.js";
import { booking, BOOKING_SETTINGS_PORT, bookRoom, cancelUnpaidBooking, type BookingEvent } from "../../src/domain/booking/index.js";

const NOW = "2026-05-01T12:00:00Z";
const history = (...events: BookingEvent[]) => given(booking, events, { collaborators: { clock: fixedClock(NOW) } });

const roomBooked: BookingEvent = {
  type: "RoomBooked",
  data: { bookingId: "B1", roomId: "R101", guestId: "G1", checkIn: "2026-05-10", checkOut: "2026-05-12", price: { amountMinor: 24000, currency: "EUR" } },
};
const paid: BookingEvent[] = [
  { type: "PaymentRecorded", data: { bookingId: "B1", paymentId: "P1", amount: { amountMinor: 24000, currency: "EUR" }, paidAt: "2026-05-01T11:00:00.000Z" } },
  { type: "BookingFullyPaid", data: { bookingId: "B1", paid: { amountMinor: 24000, currency: "EUR" } } },
];
const partlyPaid: BookingEvent = {
  type: "PaymentRecorded",
  data: { bookingId: "B1", paymentId: "P1", amount: { amountMinor: 100, currency: "EUR" }, paidAt: "2026-05-01T11:00:00.000Z" },
};
const book = { bookingId: "B1", roomId: "R101", guestId: "G1", checkIn: "2026-05-10", checkOut: "2026-05-12", price: "240.00", currency: "EUR" };
const cancelUnpaid = (afterMs: number) => ({ type: "booking.CancelUnpaidBooking", aggregateId: "B1", payload: { bookingId: "B1" }, afterMs });

describe("BookRoom schedules CancelUnpaidBooking", () => {
  it("after 48 hours by default", () => {
    history().when(bookRoom, book).thenSchedules([cancelUnpaid(48 * 3600 * 1000)]);
  });

  it("after the configured unpaid-booking time", () => {
    given(booking, [], { collaborators: { clock: fixedClock(NOW), ports: { [BOOKING_SETTINGS_PORT]: { unpaidBookingTtlMs: 2000 } } } })
      .when(bookRoom, book)
      .thenSchedules([cancelUnpaid(2000)]);
  });
});

describe("CancelUnpaidBooking", () => {
  it("cancels a booking not paid at all with reason unpaid", () => {
    history(roomBooked)
      .when(cancelUnpaidBooking, { bookingId: "B1" })
      .then({ type: "BookingCancelled", data: { bookingId: "B1", reason: "unpaid", cancelledAt: "2026-05-01T12:00:00.000Z" } });
  });

  it("cancels a booking paid in part", () => {
    history(roomBooked, partlyPaid)
      .when(cancelUnpaidBooking, { bookingId: "B1" })
      .thenState((s) => s.status === "cancelled" || assertNever(s.status));
  });

  it("leaves a booking paid in full as it is, and says why", () => {
    history(roomBooked, ...paid)
      .when(cancelUnpaidBooking, { bookingId: "B1" })
      .then([])
      .thenResponds({ cancelled: false, why: "booking B1 is paid in full" });
  });

  it("rejects a booking cancelled already", () => {
    history(roomBooked, { type: "BookingCancelled", data: { bookingId: "B1", reason: "guest asked", cancelledAt: NOW } })
      .when(cancelUnpaidBooking, { bookingId: "B1" })
      .thenRejects("BOOKING_ALREADY_CANCELLED");
  });

  it("names a missing booking id", () => {
    history().when(cancelUnpaidBooking, {}).thenInvalid("bookingId");
  });
});

function assertNever(status: string): never {
  throw new Error(`expected cancelled, got ${status}`);
}
