import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createApp } from "../../src/pipeline/app.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload } from "../support/booking-app.js";
import { note } from "../support/ledger.js";
import { eventChars } from "../support/event-chars.js";

describe("the largest event a command may write (maxEventChars)", () => {
  it("writes an event of exactly the limit, and answers one character more EVENT_TOO_LARGE, writing nothing", async () => {
    const store = openSqliteStore({ path: ":memory:" });
    // Measure a BookingCancelled with a 300-character reason, written without a limit; the
    // bookings' ids and the request ids below all have the same lengths, so only the reason moves the size.
    const unlimited = bookingApp({ store });
    for (const bookingId of ["C-1", "C-2", "C-3"]) await unlimited.commands.bookRoom(bookRoomPayload(bookingId));
    await unlimited.commands.cancelBooking({ bookingId: "C-1", reason: "r".repeat(300) }, { requestId: "cancel-1" });
    const measured = (await store.readStream("default", "booking-C-1")).at(-1)!;
    assert.equal(measured.type, "BookingCancelled");
    const limit = eventChars(measured);

    const limited = bookingApp({ store, maxEventChars: limit });
    const atLimit = await limited.commands.cancelBooking({ bookingId: "C-2", reason: "r".repeat(300) }, { requestId: "cancel-2" });
    assert.equal(atLimit.status, "accepted");
    assert.equal(eventChars((await store.readStream("default", "booking-C-2")).at(-1)!), limit, "the event written is exactly at the limit");

    const over = await limited.commands.cancelBooking({ bookingId: "C-3", reason: "r".repeat(301) }, { requestId: "cancel-3" });
    assert.equal(over.status, "invalid");
    if (over.status !== "invalid") return;
    assert.equal(over.reason, "EVENT_TOO_LARGE");
    assert.equal(over.message, `the command would write a BookingCancelled event of ${limit + 1} characters, over the ${limit} an event may hold`);
    assert.deepEqual((await store.readStream("default", "booking-C-3")).map((e) => e.type), ["RoomBooked"], "nothing was written");
    assert.equal(await store.findRequest("default", "cancel-3"), undefined, "the answer is not kept: a smaller retry may pass");

    const retried = await limited.commands.cancelBooking({ bookingId: "C-3", reason: "r".repeat(300) }, { requestId: "cancel-4" });
    assert.equal(retried.status, "accepted");
    await limited.close();
  });

  it("answers a retry of an accepted command with its stored result, though the event it would write again is now too large", async () => {
    const store = openSqliteStore({ path: ":memory:" });
    const first = await createApp({ store, commands: [note] }).commands.note({ ledgerId: "L-1", size: 100 }, { requestId: "note-1" });
    assert.equal(first.status, "accepted");

    const limited = createApp({ store, commands: [note], maxEventChars: 100 });
    const again = await limited.commands.note({ ledgerId: "L-1", size: 100 }, { requestId: "note-1" });
    assert.deepEqual([again.status, again.replayed, again.commandId], ["accepted", true, first.commandId]);
    const fresh = await limited.commands.note({ ledgerId: "L-1", size: 100 }, { requestId: "note-2" });
    assert.equal(fresh.status === "invalid" && fresh.reason, "EVENT_TOO_LARGE", "a new request id is measured");
    assert.equal((await store.readStream("default", "ledger-L-1")).length, 1);
    await limited.close();
  });
});
