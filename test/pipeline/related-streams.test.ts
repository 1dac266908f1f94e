import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload } from "../support/booking-app.js";

const id = (prefix = "B") => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A stay in room `roomId` from `checkIn` for `nights` nights of June 2026 (the test clock is in May). */
const stay = (bookingId: string, roomId: string, checkIn: number, nights: number) => ({
  ...bookRoomPayload(bookingId),
  roomId,
  checkIn: `2026-06-${String(checkIn).padStart(2, "0")}`,
  checkOut: `2026-06-${String(checkIn + nights).padStart(2, "0")}`,
});

describe("pipeline: commands over several streams", () => {
  it("two pipelines on one store book one room: one of the overlapping stays is accepted, nothing half-written", async () => {
    const store = openSqliteStore({ path: ":memory:" });
    const apps = [bookingApp({ store }), bookingApp({ store })];
    const room = id("R");
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => apps[i % 2].commands.bookRoom(stay(id(), room, 1 + (i % 3), 3))));
    assert.equal(results.filter((r) => r.status === "accepted").length, 1);
    for (const r of results.filter((r) => r.status !== "accepted")) assert.equal(r.status === "rejected" && r.code, "ROOM_UNAVAILABLE");
    const all = await store.readAll("default");
    assert.deepEqual(all.map((e) => e.type), ["RoomBooked", "NightsReserved"]);
    assert.equal(all[1].position, all[0].position + 1);
  });

  it("cancelling releases the nights, so they may be booked again; a replayed booking lists the room's event", async () => {
    const app = bookingApp();
    const [room, first, second] = [id("R"), id(), id()];
    const booked = await app.commands.bookRoom(stay(first, room, 10, 2), { requestId: `book-${first}` });
    assert.equal(booked.status, "accepted");
    const taken = await app.commands.bookRoom(stay(second, room, 11, 2));
    assert.equal(taken.status === "rejected" && taken.message, `room ${room} is booked by booking ${first} for the nights 2026-06-11`);
    const cancelled = await app.commands.cancelBooking({ bookingId: first, reason: "plans changed" });
    assert.equal(cancelled.status, "accepted");
    if (cancelled.status === "accepted") assert.deepEqual(cancelled.events.map((e) => [e.type, e.streamId]), [["BookingCancelled", undefined], ["NightsReleased", `room-${room}`]]);
    assert.equal((await app.commands.bookRoom(stay(second, room, 11, 2))).status, "accepted");

    const replayed = await bookingApp({ store: app.store }).commands.bookRoom(stay(first, room, 10, 2), { requestId: `book-${first}` });
    assert.equal(replayed.replayed, true);
    assert.ok(booked.status === "accepted" && replayed.status === "accepted");
    assert.deepEqual(replayed.events, booked.events);
    assert.equal(booked.events[1].streamId, `room-${room}`);
  });

  it("an expected revision is about the command's own stream: a room moved on by another writer is reloaded, not a conflict", async () => {
    const store = openSqliteStore({ path: ":memory:" });
    const [left, right] = [bookingApp({ store }), bookingApp({ store })];
    const [room, first, other] = [id("R"), id(), id()];
    assert.equal((await left.commands.bookRoom(stay(first, room, 1, 2))).status, "accepted");
    // The room moves on through the other pipeline; the left one still has it cached at revision 1.
    assert.equal((await right.commands.bookRoom(stay(other, room, 5, 2))).status, "accepted");
    const cancelled = await left.commands.cancelBooking({ bookingId: first, reason: "r" }, { expectedRevision: 1 });
    assert.equal(cancelled.status, "accepted", JSON.stringify(cancelled));
    if (cancelled.status === "accepted") assert.deepEqual(cancelled.events.map((e) => [e.type, e.revision]), [["BookingCancelled", 2], ["NightsReleased", 3]]);
    const stale = await left.commands.cancelBooking({ bookingId: other, reason: "r" }, { expectedRevision: 5 });
    assert.equal(stale.status, "conflict");
  });
});
