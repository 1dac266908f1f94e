import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { givenEvents, type GivenEvent } from "../../src/kernel/projection-specification.js";
import { bookingsProjection, guestStaysProjection } from "../../src/domain/booking/index.js";

const at = (timestamp: string) => ({ timestamp });
const booked = (bookingId: string, guestId: string, checkIn = "2026-06-01", checkOut = "2026-06-04", time = "2026-05-01T10:00:00.000Z"): GivenEvent => ({
  type: "RoomBooked",
  streamId: `booking-${bookingId}`,
  data: { bookingId, roomId: "R101", guestId, checkIn, checkOut, price: { amountMinor: 30000, currency: "EUR" } },
  metadata: at(time),
});
const paid = (bookingId: string, amountMinor: number, time = "2026-05-02T10:00:00.000Z", paymentId = `p-${amountMinor}`): GivenEvent => ({
  type: "PaymentRecorded",
  streamId: `booking-${bookingId}`,
  data: { bookingId, paymentId, amount: { amountMinor, currency: "EUR" }, paidAt: time },
  metadata: at(time),
});
const cancelled = (bookingId: string): GivenEvent => ({
  type: "BookingCancelled",
  streamId: `booking-${bookingId}`,
  data: { bookingId, reason: "guest asked", cancelledAt: "2026-05-03T10:00:00.000Z" },
  metadata: at("2026-05-03T10:00:00.000Z"),
});

describe("bookings read model", () => {
  it("lists a booking with its payments, outstanding amount and times", () => {
    givenEvents(bookingsProjection, [booked("B1", "G1"), paid("B1", 10000)]).thenDocuments({
      B1: {
        bookingId: "B1",
        status: "booked",
        roomId: "R101",
        guestId: "G1",
        checkIn: "2026-06-01",
        checkOut: "2026-06-04",
        price: { amountMinor: 30000, currency: "EUR" },
        paidMinor: 10000,
        outstandingMinor: 20000,
        payments: 1,
        revision: 2,
        createdAt: "2026-05-01T10:00:00.000Z",
        updatedAt: "2026-05-02T10:00:00.000Z",
      },
    });
  });

  it("follows a booking to fully paid and to cancelled", () => {
    const fullyPaid: GivenEvent = { type: "BookingFullyPaid", streamId: "booking-B1", data: { bookingId: "B1", paid: { amountMinor: 30000, currency: "EUR" } } };
    givenEvents(bookingsProjection, [booked("B1", "G1"), paid("B1", 30000), fullyPaid]).thenDocument("B1", (d) => {
      assert.equal(d.status, "fully_paid");
      assert.equal(d.outstandingMinor, 0);
    });
    givenEvents(bookingsProjection, [booked("B2", "G1"), cancelled("B2")]).thenDocument("B2", (d) => assert.equal(d.status, "cancelled"));
  });

  it("ignores a payment for a booking it has not seen", () => {
    givenEvents(bookingsProjection, [paid("B9", 100)]).thenDocuments({});
  });

  it("stays the same size however many payments the booking has", () => {
    const sizeAfter = (payments: number) => {
      const events = [booked("B1", "G1"), ...Array.from({ length: payments }, (_, i) => paid("B1", 1, undefined, `P${i}`))];
      let size = 0;
      givenEvents(bookingsProjection, events).thenDocument("B1", (d) => (size = JSON.stringify(d).length));
      return size;
    };
    // Only the digits of the counts, amounts and revision grow; 300 payment ids would add ~2 KB.
    assert.ok(sizeAfter(300) - sizeAfter(1) <= 10, `${sizeAfter(1)} characters after one payment, ${sizeAfter(300)} after 300`);
  });
});

describe("guest_stays read model", () => {
  it("sums a guest's bookings, nights and payments across bookings, and takes a cancelled stay's nights back", () => {
    givenEvents(guestStaysProjection, [booked("B1", "G1"), booked("B2", "G1", "2026-07-01", "2026-07-08"), booked("B3", "G2"), paid("B1", 10000), paid("B2", 5000), cancelled("B1")], {
      related: [bookingsProjection],
    }).thenDocument("G1", (d) => {
      assert.equal(d.bookings, 2);
      assert.equal(d.nightsBooked, 7);
      assert.deepEqual(d.paidMinor, { EUR: 15000 });
    }).thenDocument("G2", (d) => assert.equal(d.nightsBooked, 3));
  });
});
