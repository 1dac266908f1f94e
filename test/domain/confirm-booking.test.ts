import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixedClock } from "../../src/kernel/collaborators.js";
import { reactionContext, type ReactionEvent } from "../../src/kernel/reaction.js";
import { given } from "../../src/kernel/specification.js";
import { booking, cancelUnpaidBooking, confirmBooking, confirmPaidBookings, type BookingConfirmed, type BookingEvent, type BookingPorts } from "../../src/domain/booking/index.js";

const NOW = "2026-05-01T12:00:00Z";
const history = (...events: BookingEvent[]) => given(booking, events, { collaborators: { clock: fixedClock(NOW) } });

const booked: BookingEvent = {
  type: "RoomBooked",
  data: { bookingId: "B1", roomId: "R101", guestId: "G1", checkIn: "2026-05-10", checkOut: "2026-05-12", price: { amountMinor: 24000, currency: "EUR" } },
};
const paid: BookingEvent[] = [
  { type: "PaymentRecorded", data: { bookingId: "B1", paymentId: "P1", amount: { amountMinor: 24000, currency: "EUR" }, paidAt: NOW } },
  { type: "BookingFullyPaid", data: { bookingId: "B1", paid: { amountMinor: 24000, currency: "EUR" } } },
];
const confirmed: BookingConfirmed = {
  type: "BookingConfirmed",
  data: { bookingId: "B1", guestId: "G1", roomId: "R101", checkIn: "2026-05-10", checkOut: "2026-05-12", confirmedAt: "2026-05-01T12:00:00.000Z" },
};

describe("ConfirmBooking", () => {
  it("confirms a booking paid in full: BookingConfirmed with what the guest is told", () => {
    history(booked, ...paid)
      .when(confirmBooking, { bookingId: "B1" })
      .then(confirmed)
      .thenState((s) => assert.equal(s.status, "confirmed"));
  });

  it("changes nothing on a confirmed booking, so a repeat is harmless", () => {
    history(booked, ...paid, confirmed).when(confirmBooking, { bookingId: "B1" }).then([]).thenResponds({ alreadyConfirmed: true });
  });

  it("refuses a booking not paid in full (BOOKING_NOT_PAID) and a cancelled one (BOOKING_CANCELLED)", () => {
    history(booked).when(confirmBooking, { bookingId: "B1" }).thenRejects("BOOKING_NOT_PAID", /24000 minor units outstanding/);
    const cancelled: BookingEvent = { type: "BookingCancelled", data: { bookingId: "B1", reason: "guest asked", cancelledAt: NOW } };
    history(booked, ...paid, cancelled).when(confirmBooking, { bookingId: "B1" }).thenRejects("BOOKING_CANCELLED");
  });

  it("leaves a confirmed booking to the scheduled CancelUnpaidBooking: it is paid in full", () => {
    history(booked, ...paid, confirmed).when(cancelUnpaidBooking, { bookingId: "B1" }).then([]);
  });

  it("names a missing booking id", () => {
    history(booked).when(confirmBooking, {}).thenInvalid("bookingId");
  });
});

describe("the confirm-paid-bookings reaction", () => {
  const on = (type: "BookingFullyPaid" | "BookingConfirmed", data: unknown): ReactionEvent<typeof type> => ({
    id: "e-1",
    type,
    data,
    streamId: "booking-B1",
    revision: 3,
    position: 9,
    tenant: "hotel-a",
    metadata: { commandId: "c", commandType: "x", requestId: "r", correlationId: "corr", causationId: "c", tenant: "hotel-a", timestamp: NOW },
  });
  const context = reactionContext<BookingPorts>();

  it("issues ConfirmBooking for a booking paid in full", async () => {
    assert.deepEqual(await confirmPaidBookings.react(on("BookingFullyPaid", paid[1].data), context), [
      { kind: "command", type: "booking.ConfirmBooking", aggregateId: "B1", payload: { bookingId: "B1" } },
    ]);
  });

  it("tells the guest once the booking is confirmed, in the event's tenant", async () => {
    assert.deepEqual(await confirmPaidBookings.react(on("BookingConfirmed", confirmed.data), context), [
      { kind: "call", port: "guestNotifier", method: "bookingConfirmed", argument: { tenant: "hotel-a", ...confirmed.data } },
    ]);
  });

  it("follows exactly the two events it handles", () => {
    assert.deepEqual([...confirmPaidBookings.eventTypes].sort(), ["BookingConfirmed", "BookingFullyPaid"]);
  });
});
