// Given/When/Then over a command that decides over several streams: the checks must fail
// when the decision differs on any of them, or when a test names a stream the command does not decide over.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixedClock } from "../../src/kernel/collaborators.js";
import { given } from "../../src/kernel/specification.js";
import { booking, bookRoom, recordPayment, type NightsReserved, type RoomBooked } from "../../src/domain/booking/index.js";

const collaborators = { clock: fixedClock("2026-05-01T12:00:00Z") };
const payload = { bookingId: "B1", roomId: "R101", guestId: "G1", checkIn: "2026-05-10", checkOut: "2026-05-12", price: "240.00", currency: "EUR" };

const booked: RoomBooked = {
  type: "RoomBooked",
  data: { bookingId: "B1", roomId: "R101", guestId: "G1", checkIn: "2026-05-10", checkOut: "2026-05-12", price: { amountMinor: 24000, currency: "EUR" } },
};
const reserved = (bookingId: string, checkIn: string, checkOut: string): NightsReserved => ({
  type: "NightsReserved",
  data: { roomId: "R101", bookingId, checkIn, checkOut, reservedOn: "2026-05-01" },
});

describe("given/when/then over several streams", () => {
  it("checks the command's own stream and each related stream apart", () => {
    given(booking, [], { collaborators })
      .when(bookRoom, payload)
      .then(booked)
      .thenRelated("room", reserved("B1", "2026-05-10", "2026-05-12"));
  });

  it("fails when a related stream's events differ, or when they are expected on the command's own stream", () => {
    const when = () => given(booking, [], { collaborators }).when(bookRoom, payload);
    assert.throws(() => when().thenRelated("room", reserved("B1", "2026-05-10", "2026-05-13")), assert.AssertionError);
    assert.throws(() => when().thenRelated("room", []), assert.AssertionError);
    assert.throws(() => when().then([booked, reserved("B1", "2026-05-10", "2026-05-12")]), assert.AssertionError);
  });

  it("decides with the related stream's given history: taken nights turn the acceptance into a rejection", () => {
    const taken = given(booking, [], { collaborators, related: { room: [reserved("B0", "2026-05-11", "2026-05-14")] } }).when(bookRoom, payload);
    taken.thenRejects("ROOM_UNAVAILABLE", /booking B0 for the nights 2026-05-11$/);
    assert.throws(() => taken.thenRelated("room", reserved("B1", "2026-05-10", "2026-05-12")), assert.AssertionError);
  });

  it("refuses a related stream the command does not declare, in the history and in the checks", () => {
    assert.throws(() => given(booking, [], { collaborators, related: { rooms: [] } }).when(bookRoom, payload), /declares no related stream "rooms"/);
    const paid = given(booking, [booked], { collaborators }).when(recordPayment, { bookingId: "B1", paymentId: "P1", amount: "10.00", currency: "EUR", paidAt: "2026-04-30T10:00:00Z" });
    assert.throws(() => paid.thenRelated("room", []), /declares no related stream "room"/);
  });
});
