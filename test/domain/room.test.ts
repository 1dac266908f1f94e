import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fold } from "../../src/kernel/aggregate.js";
import { fixedClock } from "../../src/kernel/collaborators.js";
import { given } from "../../src/kernel/specification.js";
import {
  booking,
  bookRoom,
  cancelBooking,
  room,
  type BookingEvent,
  type NightsReleased,
  type NightsReserved,
  type RoomBooked,
  type RoomState,
} from "../../src/domain/booking/index.js";

const collaborators = { clock: fixedClock("2026-05-01T12:00:00Z") };

const bookPayload = (bookingId: string, checkIn: string, checkOut: string) => ({
  bookingId,
  roomId: "R101",
  guestId: "G1",
  checkIn,
  checkOut,
  price: "240.00",
  currency: "EUR",
});

const reserved = (bookingId: string, checkIn: string, checkOut: string, reservedOn = "2026-05-01"): NightsReserved => ({
  type: "NightsReserved",
  data: { roomId: "R101", bookingId, checkIn, checkOut, reservedOn },
});

const released = (bookingId: string, checkIn: string, checkOut: string, releasedOn = "2026-05-01"): NightsReleased => ({
  type: "NightsReleased",
  data: { roomId: "R101", bookingId, checkIn, checkOut, releasedOn },
});

const roomBooked = (bookingId: string, checkIn: string, checkOut: string): RoomBooked => ({
  type: "RoomBooked",
  data: { bookingId, roomId: "R101", guestId: "G1", checkIn, checkOut, price: { amountMinor: 24000, currency: "EUR" } },
});

/** A booking's history, with the room's. */
const givenRoom = (bookingHistory: BookingEvent[], roomHistory: (NightsReserved | NightsReleased)[]) =>
  given(booking, bookingHistory, { collaborators, related: { room: roomHistory } });

describe("BookRoom decides over the room", () => {
  it("reserves the stay's nights on the room in the same command as RoomBooked", () => {
    givenRoom([], [])
      .when(bookRoom, bookPayload("B1", "2026-05-10", "2026-05-12"))
      .then(roomBooked("B1", "2026-05-10", "2026-05-12"))
      .thenRelated("room", reserved("B1", "2026-05-10", "2026-05-12"));
  });

  it("is refused with ROOM_UNAVAILABLE naming the booking and the nights taken", () => {
    givenRoom([], [reserved("B0", "2026-05-08", "2026-05-11")])
      .when(bookRoom, bookPayload("B1", "2026-05-10", "2026-05-12"))
      .thenRejects("ROOM_UNAVAILABLE", /booking B0 for the nights 2026-05-10$/);
    givenRoom([], [reserved("B0", "2026-05-09", "2026-05-20")])
      .when(bookRoom, bookPayload("B1", "2026-05-10", "2026-05-13"))
      .thenRejects("ROOM_UNAVAILABLE", /room R101 is booked by booking B0 for the nights 2026-05-10 to 2026-05-12/);
  });

  it("accepts a stay that starts on the day another ends, and one that ends on the day another starts", () => {
    const room = [reserved("B0", "2026-05-10", "2026-05-12")];
    givenRoom([], room).when(bookRoom, bookPayload("B1", "2026-05-12", "2026-05-14")).thenRelated("room", reserved("B1", "2026-05-12", "2026-05-14"));
    givenRoom([], room).when(bookRoom, bookPayload("B2", "2026-05-08", "2026-05-10")).thenRelated("room", reserved("B2", "2026-05-08", "2026-05-10"));
  });

  it("may book nights again once their booking released them", () => {
    givenRoom([], [reserved("B0", "2026-05-10", "2026-05-12"), released("B0", "2026-05-10", "2026-05-12")])
      .when(bookRoom, bookPayload("B1", "2026-05-10", "2026-05-12"))
      .thenRelated("room", reserved("B1", "2026-05-10", "2026-05-12"));
  });

  it("checks the check-in date before the room", () => {
    givenRoom([], [reserved("B0", "2026-04-01", "2026-06-01")])
      .when(bookRoom, bookPayload("B1", "2026-04-30", "2026-05-02"))
      .thenRejects("CHECK_IN_IN_PAST");
  });
});

describe("CancelBooking releases the room's nights", () => {
  it("releases the booking's nights on its room", () => {
    givenRoom([roomBooked("B1", "2026-05-10", "2026-05-12")], [reserved("B1", "2026-05-10", "2026-05-12")])
      .when(cancelBooking, { bookingId: "B1", reason: "change of plans" })
      .thenRelated("room", released("B1", "2026-05-10", "2026-05-12"));
  });

  it("releases nothing when the room no longer holds the stay", () => {
    givenRoom([roomBooked("B1", "2026-05-10", "2026-05-12")], [])
      .when(cancelBooking, { bookingId: "B1", reason: "change of plans" })
      .thenRelated("room", []);
  });

  it("finds the room on the booking, not in the payload", () => {
    const related = cancelBooking.related!.room;
    assert.equal(related.id({ bookingId: "B1", reason: "r" }, fold(booking, booking.initialState(), [roomBooked("B1", "2026-05-10", "2026-05-12")])), "R101");
    assert.equal(related.id({ bookingId: "B1", reason: "r" }, booking.initialState()), "");
  });
});

describe("a room's state", () => {
  const stateOf = (...events: (NightsReserved | NightsReleased)[]): RoomState => fold(room, room.initialState(), events);

  it("keeps reservations in check-in order", () => {
    const state = stateOf(reserved("B2", "2026-06-01", "2026-06-03"), reserved("B1", "2026-05-10", "2026-05-12"));
    assert.deepEqual(state.reservations.map((r) => r.bookingId), ["B1", "B2"]);
  });

  it("drops stays that ended before the newest decision day, so years of bookings stay bounded", () => {
    const events: NightsReserved[] = [];
    for (let day = 0; day < 3 * 365; day++) {
      const checkIn = new Date(Date.UTC(2026, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
      const checkOut = new Date(Date.UTC(2026, 0, 2) + day * 86_400_000).toISOString().slice(0, 10);
      // Each night is booked a week ahead.
      const reservedOn = new Date(Date.UTC(2025, 11, 25) + day * 86_400_000).toISOString().slice(0, 10);
      events.push(reserved(`B${day}`, checkIn, checkOut, reservedOn));
    }
    const state = stateOf(...events);
    assert.ok(state.reservations.length <= 8, `${state.reservations.length} reservations kept`);
    assert.equal(state.reservations.at(-1)?.bookingId, `B${3 * 365 - 1}`);
    assert.ok(state.reservations.every((r) => r.checkOut > state.today));
  });

  it("keeps a stay under way on the decision day", () => {
    const state = stateOf(reserved("B1", "2026-05-01", "2026-05-05"), reserved("B2", "2026-05-10", "2026-05-11", "2026-05-03"));
    assert.deepEqual(state.reservations.map((r) => r.bookingId), ["B1", "B2"]);
  });
});
