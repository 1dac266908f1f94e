import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { z } from "zod";
import { defineAggregate } from "../../src/kernel/aggregate.js";
import { systemCollaborators } from "../../src/kernel/collaborators.js";
import { defineCommand } from "../../src/kernel/command.js";
import { event } from "../../src/kernel/events.js";
import type { Identity } from "../../src/kernel/identity.js";
import { createApp } from "../../src/pipeline/app.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { booking } from "../../src/domain/booking/index.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";
import { ledger, note } from "../support/ledger.js";
import { countingStore } from "../support/counting-store.js";

const id = (prefix = "B") => `${prefix}-${randomUUID().slice(0, 8)}`;

describe("pipeline", () => {
  it("books a room in process and reports revision, position and events", async () => {
    const app = bookingApp();
    const bookingId = id();
    const result = await app.commands.bookRoom(bookRoomPayload(bookingId), { requestId: "r1" });
    assert.equal(result.status, "accepted");
    if (result.status !== "accepted") return;
    assert.equal(result.revision, 1);
    assert.equal(result.aggregateId, bookingId);
    // The room's event follows the booking's, named by its stream, at the next position.
    assert.deepEqual(result.events.map((e) => [e.type, e.revision, e.streamId]), [["RoomBooked", 1, undefined], ["NightsReserved", 1, `room-${bookingId}`]]);
    assert.equal(result.events[1].position, result.events[0].position + 1);
    assert.equal(result.position, result.events[1].position);
    const [stored] = await app.store.readStream("default", `booking-${bookingId}`);
    assert.equal(stored.metadata.causationId, result.commandId);
    assert.equal(stored.metadata.requestId, "r1");
    assert.equal(stored.metadata.userId, "local");
  });

  it("answers bad input with an invalid result naming every bad field, and writes nothing", async () => {
    const { store, counts } = countingStore(openSqliteStore({ path: ":memory:" }));
    const app = bookingApp({ store });
    const result = await app.commands.bookRoom({ ...bookRoomPayload(id()), price: "12.345", guestId: "", checkOut: "2026-05-30" });
    assert.equal(result.status, "invalid");
    if (result.status !== "invalid") return;
    assert.equal(result.reason, "VALIDATION_FAILED");
    assert.deepEqual(result.violations.map((v) => v.field).sort(), ["checkOut", "guestId", "price"]);
    const second = await app.commands.bookRoom({ ...bookRoomPayload(id()), price: "12.345", checkOut: "2026-05-30" });
    assert.equal(second.status, "invalid");
    if (second.status === "invalid") assert.deepEqual(second.violations.map((v) => v.field).sort(), ["checkOut", "price"]);
    assert.equal(counts.appends + counts.streamReads, 0, "no storage call for invalid input");
    assert.deepEqual(await app.store.readAll("default"), []);
  });

  it("refuses an unknown command type and a payload id that disagrees with the aggregate id", async () => {
    const app = bookingApp();
    const unknown = await app.execute({ type: "booking.Teleport", payload: {} });
    assert.equal(unknown.status === "invalid" && unknown.reason, "UNKNOWN_COMMAND");
    const mismatch = await app.execute({ type: "booking.BookRoom", aggregateId: "B-1", payload: bookRoomPayload("B-2") });
    assert.equal(mismatch.status, "invalid");
    if (mismatch.status === "invalid") assert.equal(mismatch.violations[0].field, "bookingId");
    const filled = await app.execute({ type: "booking.BookRoom", aggregateId: "B-3", payload: { ...bookRoomPayload("x"), bookingId: undefined } });
    assert.equal(filled.status, "accepted");
  });

  it("does not keep a rejection that time may lift (PAYMENT_IN_FUTURE) under the request id; a settled one it replays", async () => {
    let now = new Date("2026-05-01T12:00:00Z");
    const app = bookingApp({ collaborators: { ...systemCollaborators, clock: () => new Date(now) } });
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    const early = { ...paymentPayload(bookingId, "P1"), paidAt: "2026-05-01T12:30:00Z" };
    const first = await app.commands.recordPayment(early, { requestId: "pay-1" });
    assert.equal(first.status === "rejected" && first.code, "PAYMENT_IN_FUTURE");
    // The same request again, once the payment time has come: decided again, not replayed.
    now = new Date("2026-05-01T12:31:00Z");
    const later = await app.commands.recordPayment(early, { requestId: "pay-1" });
    assert.deepEqual([later.status, later.replayed], ["accepted", false]);
    // A corrected payload under a request id whose rejection was not kept runs as new.
    const second = await app.commands.recordPayment({ ...paymentPayload(bookingId, "P2"), paidAt: "2030-01-01T00:00:00Z" }, { requestId: "pay-2" });
    assert.equal(second.status === "rejected" && second.code, "PAYMENT_IN_FUTURE");
    const fixed = await app.commands.recordPayment(paymentPayload(bookingId, "P2"), { requestId: "pay-2" });
    assert.deepEqual([fixed.status, fixed.replayed], ["accepted", false]);

    await app.commands.cancelBooking({ bookingId, reason: "x" });
    const cancelled = await app.commands.recordPayment(paymentPayload(bookingId, "P3"), { requestId: "pay-3" });
    assert.equal(cancelled.status === "rejected" && cancelled.code, "BOOKING_CANCELLED");
    const replayed = await app.commands.recordPayment(paymentPayload(bookingId, "P3"), { requestId: "pay-3" });
    assert.deepEqual([replayed.status, replayed.replayed], ["rejected", true]);
    const reused = await app.commands.recordPayment(paymentPayload(bookingId, "P4"), { requestId: "pay-3" });
    assert.equal(reused.status === "invalid" && reused.reason, "REQUEST_ID_REUSED");
    assert.match(reused.status === "invalid" ? reused.message : "", /a new or changed command needs a new request id/);
  });

  it("names the known command types when the type is unknown", async () => {
    const unknown = await bookingApp().execute({ type: "booking.Teleport", payload: {} });
    assert.equal(unknown.status === "invalid" && unknown.reason, "UNKNOWN_COMMAND");
    assert.match(unknown.status === "invalid" ? unknown.message : "", /the known types are booking\.BookRoom, booking\.RecordPayment, booking\.CancelBooking, booking\.CancelUnpaidBooking, booking\.ConfirmBooking \(DescribeCommands/);
  });

  it("refuses a payload key no command field has, naming each one, and writes nothing", async () => {
    const { store, counts } = countingStore(openSqliteStore({ path: ":memory:" }));
    const app = bookingApp({ store });
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    const before = counts.appends;
    const typo = await app.execute({ type: "booking.CancelBooking", aggregateId: bookingId, payload: { reason: "x", expectedRevison: 99 } });
    assert.equal(typo.status, "invalid");
    if (typo.status === "invalid") {
      assert.equal(typo.reason, "VALIDATION_FAILED");
      assert.deepEqual(typo.violations, [{ field: "expectedRevison", description: '"expectedRevison" is not a field of this command' }]);
    }
    const two = await app.execute({ type: "booking.RecordPayment", payload: { ...paymentPayload(bookingId, "P1"), amont: "1.00", note: "x" } });
    assert.deepEqual(two.status === "invalid" && two.violations.map((v) => v.field), ["amont", "note"]);
    assert.equal(counts.appends, before, "nothing written");
    assert.equal((await app.store.readStream("default", `booking-${bookingId}`)).length, 1);
  });

  it("reads a payload's own fields only: a \"__proto__\" key is data, not a source of fields", async () => {
    const app = bookingApp();
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    const payload = JSON.parse(`{"__proto__": ${JSON.stringify(paymentPayload(bookingId, "P1"))}}`) as Record<string, unknown>;
    const result = await app.execute({ type: "booking.RecordPayment", aggregateId: bookingId, payload });
    assert.equal(result.status, "invalid");
    if (result.status === "invalid") assert.deepEqual(result.violations.map((v) => v.field).sort(), ["__proto__", "amount", "currency", "paidAt", "paymentId"]);
    assert.equal((await app.store.readStream("default", `booking-${bookingId}`)).length, 1);
  });

  it("replays a request id: the original result, replayed, nothing written", async () => {
    const app = bookingApp();
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    const first = await app.commands.recordPayment(paymentPayload(bookingId, "P1"), { requestId: "pay-1" });
    const again = await app.commands.recordPayment(paymentPayload(bookingId, "P1"), { requestId: "pay-1" });
    assert.equal(first.status, "accepted");
    assert.equal(first.replayed, false);
    assert.deepEqual({ ...again, replayed: false }, first);
    assert.equal(again.replayed, true);
    assert.equal((await app.store.readStream("default", `booking-${bookingId}`)).length, 2);
  });

  it("replays a request id when repeating the command would now be answered otherwise, and looks nothing up for a new id", async () => {
    const { store, counts } = countingStore(openSqliteStore({ path: ":memory:" }));
    const app = bookingApp({ store });
    const bookingId = id();
    const booked = await app.commands.bookRoom(bookRoomPayload(bookingId), { requestId: "book-1" });
    const paid = await app.commands.recordPayment(paymentPayload(bookingId, "P1"), { requestId: "pay-1", expectedRevision: 1 });
    assert.equal(paid.status, "accepted");
    assert.equal(counts.requestLookups, 0, "a new request id is checked by the append, not looked up first");

    // Booked again, the booking would already exist; paid again at revision 1, it would conflict.
    const rebooked = await app.commands.bookRoom(bookRoomPayload(bookingId), { requestId: "book-1" });
    const repaid = await app.commands.recordPayment(paymentPayload(bookingId, "P1"), { requestId: "pay-1", expectedRevision: 1 });
    // (Through JSON, as stored: a result's undefined fields are not kept.)
    assert.deepEqual(JSON.parse(JSON.stringify(rebooked)), { ...JSON.parse(JSON.stringify(booked)), replayed: true });
    assert.deepEqual(JSON.parse(JSON.stringify(repaid)), { ...JSON.parse(JSON.stringify(paid)), replayed: true });
    // Reused for another payment that would conflict, the id is still refused as reused.
    const reused = await app.commands.recordPayment(paymentPayload(bookingId, "P2"), { requestId: "pay-1", expectedRevision: 1 });
    assert.equal(reused.status === "invalid" && reused.reason, "REQUEST_ID_REUSED");
    assert.equal((await app.store.readStream("default", `booking-${bookingId}`)).length, 2);
  });

  it("replays rejections too", async () => {
    const app = bookingApp();
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    await app.commands.cancelBooking({ bookingId, reason: "plans changed" });
    const rejected = await app.commands.cancelBooking({ bookingId, reason: "again" }, { requestId: "cancel-2" });
    assert.equal(rejected.status === "rejected" && rejected.code, "BOOKING_ALREADY_CANCELLED");
    const replay = await app.commands.cancelBooking({ bookingId, reason: "again" }, { requestId: "cancel-2" });
    assert.equal(replay.status === "rejected" && replay.replayed, true);
    assert.equal(replay.commandId, rejected.commandId);
  });

  it("refuses a request id reused for a different payload as REQUEST_ID_REUSED", async () => {
    const app = bookingApp();
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    await app.commands.recordPayment(paymentPayload(bookingId, "P1"), { requestId: "same" });
    const reused = await app.commands.recordPayment(paymentPayload(bookingId, "P2", "5.00"), { requestId: "same" });
    assert.equal(reused.status, "invalid");
    if (reused.status === "invalid") {
      assert.equal(reused.reason, "REQUEST_ID_REUSED");
      assert.equal(reused.violations[0].field, "requestId");
    }
    assert.equal((await app.store.readStream("default", `booking-${bookingId}`)).length, 2);
  });

  it("retries revision conflicts without an expected revision: every concurrent payment lands, revisions gapless", async () => {
    // Two pipelines on one store stand for two processes: within one pipeline commands on a
    // stream queue up, so only the other pipeline's writes can make an append conflict.
    // On a loaded machine one payment can lose more than the default 5 rounds in a row to the
    // other pipeline's 15: what is claimed is that conflicts are retried until they land.
    const store = openSqliteStore({ path: ":memory:" });
    let retries = 0;
    const options = { store, stateCacheSize: 0, maxRetries: 50, hooks: { retried: () => void retries++ } };
    const [left, right] = [bookingApp(options), bookingApp(options)];
    const bookingId = id();
    await left.commands.bookRoom(bookRoomPayload(bookingId, "100000.00"));
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? left : right).commands.recordPayment(paymentPayload(bookingId, `P${i}`, "1.00"), { requestId: `p-${i}` }),
      ),
    );
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set(["accepted"]));
    const events = await store.readStream("default", `booking-${bookingId}`);
    assert.deepEqual(events.map((e) => e.revision), Array.from({ length: 31 }, (_, i) => i + 1));
    const state = await left.loadState(booking, bookingId);
    assert.equal(state.state.paidMinor, 3000);
    assert.ok(retries > 0, "the two pipelines' appends conflicted, and were retried");
  });

  it("keeps its state cache correct when another writer moves a stream on", async () => {
    const store = openSqliteStore({ path: ":memory:" });
    const [left, right] = [bookingApp({ store }), bookingApp({ store })];
    const bookingId = id();
    await left.commands.bookRoom(bookRoomPayload(bookingId, "100.00"));
    await left.commands.recordPayment(paymentPayload(bookingId, "L1", "10.00"));
    await right.commands.recordPayment(paymentPayload(bookingId, "R1", "10.00"));
    const { counts, store: counted } = countingStore(store);
    const stale = bookingApp({ store: counted });
    await stale.commands.recordPayment(paymentPayload(bookingId, "S0", "10.00"));
    await right.commands.recordPayment(paymentPayload(bookingId, "R2", "10.00"));
    const readsBefore = counts.streamReads;
    const paid = await stale.commands.recordPayment(paymentPayload(bookingId, "S1", "60.00"), { expectedRevision: 5 });
    assert.equal(paid.status, "accepted", "the stale cached revision (4) was verified, not reported as a conflict");
    assert.ok(counts.streamReads > readsBefore);
    if (paid.status === "accepted") assert.deepEqual(paid.events.map((e) => e.type), ["PaymentRecorded", "BookingFullyPaid"]);
    const decidedOnCache = await left.commands.recordPayment(paymentPayload(bookingId, "L2", "1.00"));
    // PaymentRecorded and BookingOverpaid: the booking was paid in full already.
    assert.equal(decidedOnCache.status === "accepted" && decidedOnCache.revision, 9, "a stale cache costs a retry, never a lost update");
    const { state } = await left.loadState(booking, bookingId);
    assert.deepEqual([state.paidMinor, [...state.paymentIds].sort()], [10100, ["L1", "L2", "R1", "R2", "S0", "S1"]]);
  });

  it("gives up after the retry budget and reports the conflict", async () => {
    const store = openSqliteStore({ path: ":memory:" });
    const [left, right] = [bookingApp({ store, maxRetries: 0 }), bookingApp({ store, maxRetries: 0 })];
    const bookingId = id();
    await left.commands.bookRoom(bookRoomPayload(bookingId, "100000.00"));
    await right.commands.recordPayment(paymentPayload(bookingId, "warm-cache"));
    await left.commands.recordPayment(paymentPayload(bookingId, "warm-cache-2"));
    const results = await Promise.all([
      left.commands.recordPayment(paymentPayload(bookingId, "L")),
      right.commands.recordPayment(paymentPayload(bookingId, "R")),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["accepted", "conflict"]);
  });

  it("fails an explicit expected revision that does not match as a conflict, without retrying", async () => {
    const app = bookingApp();
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    await app.commands.recordPayment(paymentPayload(bookingId, "P1"));
    const stale = await app.commands.recordPayment(paymentPayload(bookingId, "P2"), { expectedRevision: 1 });
    assert.equal(stale.status, "conflict");
    if (stale.status === "conflict") assert.deepEqual([stale.expectedRevision, stale.actualRevision], [1, 2]);
    const current = await app.commands.recordPayment(paymentPayload(bookingId, "P2"), { expectedRevision: 2 });
    assert.equal(current.status, "accepted");
  });

  it("does not keep NOT_FOUND for replay: a payment that arrived before its booking runs on redelivery", async () => {
    const app = bookingApp();
    const bookingId = id();
    const early = await app.commands.recordPayment(paymentPayload(bookingId, "P1"), { requestId: "payment:P1" });
    assert.equal(early.status, "not_found");
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    const redelivered = await app.commands.recordPayment(paymentPayload(bookingId, "P1"), { requestId: "payment:P1" });
    assert.equal(redelivered.status, "accepted");
    assert.equal(redelivered.replayed, false);
  });

  it("reports not found and already exists from the stream expectation", async () => {
    const app = bookingApp();
    const bookingId = id();
    const missing = await app.commands.recordPayment(paymentPayload(bookingId, "P1"));
    assert.equal(missing.status, "not_found");
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    const twice = await app.commands.bookRoom(bookRoomPayload(bookingId));
    assert.equal(twice.status, "already_exists");
  });

  it("books a new booking without reading its stream; the append finds one that exists, without spending a retry", async () => {
    const store = openSqliteStore({ path: ":memory:" });
    const { store: counted, counts } = countingStore(store);
    const app = bookingApp({ store: counted, maxRetries: 0 });
    const fresh = await app.commands.bookRoom(bookRoomPayload(id()));
    assert.equal(fresh.status, "accepted");
    assert.deepEqual([counts.streamReads, counts.snapshotReads, counts.appends], [1, 1, 1], "decided on an empty booking and the room as read, then appended");

    // Booked through another app on the same store: this app has nothing of it cached.
    const bookingId = id();
    const first = await bookingApp({ store }).commands.bookRoom(bookRoomPayload(bookingId), { requestId: "book-1" });
    const again = await app.commands.bookRoom(bookRoomPayload(bookingId));
    assert.equal(again.status, "already_exists", "the revision guard caught the assumption; the retry budget of 0 was not spent on it");
    if (again.status === "already_exists") assert.equal(again.revision, 1);
    const retried = await bookingApp({ store, maxRetries: 0 }).commands.bookRoom(bookRoomPayload(bookingId), { requestId: "book-1" });
    assert.equal(retried.status, "accepted");
    assert.equal(retried.replayed, true);
    if (retried.status === "accepted" && first.status === "accepted") assert.deepEqual(retried.events, first.events);
    assert.equal((await store.readStream("default", `booking-${bookingId}`)).length, 1, "nothing written twice");
  });

  it("emits BookingFullyPaid with the payment in one command, and a repeated payment id writes nothing", async () => {
    const app = bookingApp();
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId, "150.00"));
    const paid = await app.commands.recordPayment(paymentPayload(bookingId, "P1", "150.00"));
    assert.equal(paid.status, "accepted");
    if (paid.status === "accepted") {
      assert.deepEqual(paid.events.map((e) => e.type), ["PaymentRecorded", "BookingFullyPaid"]);
      assert.deepEqual(paid.response, { outstandingMinor: 0, duplicatePayment: false });
    }
    const repeat = await app.commands.recordPayment(paymentPayload(bookingId, "P1", "150.00"));
    assert.equal(repeat.status, "accepted");
    if (repeat.status === "accepted") {
      assert.deepEqual(repeat.events, []);
      assert.equal(repeat.revision, 3);
    }
  });

  it("writes nothing when an append fails in the middle of a command's events", async () => {
    const thing = defineAggregate({ name: "thing", initialState: () => ({}), evolve: (s: object) => s });
    const explode = defineCommand({
      type: "thing.Explode",
      aggregate: thing,
      payload: z.object({ thingId: z.string() }),
      aggregateIdField: "thingId",
      stream: "any",
      policy: { scopes: [] },
      rejections: [],
      decide: () => [event("First", {}), event("Poison", { value: 1n }), event("Third", {})],
    });
    const failures: string[] = [];
    const app = createApp({ store: openSqliteStore({ path: ":memory:" }), commands: [explode], onFailure: (errorId) => failures.push(errorId) });
    const result = await app.commands.explode({ thingId: "T1" }, { requestId: "x" });
    assert.equal(result.status, "failed");
    if (result.status === "failed") assert.deepEqual(failures, [result.errorId]);
    assert.deepEqual(await app.store.readAll("default"), []);
    assert.equal(await app.store.findRequest("default", "x"), undefined);
  });

  it("authorizes before revealing existence; a bookings:own caller may cancel only their own booking", async () => {
    const app = bookingApp();
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    const guest = (userId: string, scopes: string[]): Identity => ({ userId, tenant: "default", scopes, authenticated: true });
    const anonymous: Identity = { tenant: "default", scopes: [], authenticated: false };
    const none = await app.commands.cancelBooking({ bookingId: "does-not-exist", reason: "x" }, { identity: guest("guest-1", []) });
    assert.equal(none.status === "unauthorized" && none.reason, "PERMISSION_DENIED");
    const anon = await app.commands.cancelBooking({ bookingId, reason: "x" }, { identity: anonymous });
    assert.equal(anon.status === "unauthorized" && anon.reason, "UNAUTHENTICATED");
    const stranger = await app.commands.cancelBooking({ bookingId, reason: "x" }, { identity: guest("guest-2", ["bookings:own"]) });
    assert.equal(stranger.status === "unauthorized" && stranger.reason, "PERMISSION_DENIED");
    const missing = await app.commands.cancelBooking({ bookingId: "nope", reason: "x" }, { identity: guest("guest-1", ["bookings:own"]) });
    assert.equal(missing.status, "unauthorized");
    const owner = await app.commands.cancelBooking({ bookingId, reason: "x" }, { identity: guest("guest-1", ["bookings:own"]) });
    assert.equal(owner.status, "accepted");
    const [, cancelled] = await app.store.readStream("default", `booking-${bookingId}`);
    assert.equal(cancelled.metadata.userId, "guest-1");
  });

  it("loads a 10,000-event stream from its snapshot, reading fewer events than the snapshot interval", async () => {
    const inner = openSqliteStore({ path: ":memory:" });
    const writer = bookingApp({ store: inner });
    const bookingId = id();
    await writer.commands.bookRoom(bookRoomPayload(bookingId, "99999999.00"));
    for (let i = 1; i < 10_000; i++) {
      const r = await writer.commands.recordPayment(paymentPayload(bookingId, `P${i}`, "0.01"));
      assert.equal(r.status, "accepted");
    }
    const { store, counts } = countingStore(inner);
    const reader = bookingApp({ store, stateCacheSize: 0 });
    const result = await reader.commands.recordPayment(paymentPayload(bookingId, "last", "0.01"));
    assert.equal(result.status === "accepted" && result.revision, 10_001);
    assert.ok(counts.eventsRead < booking.snapshotEvery, `read ${counts.eventsRead} events`);
    const loaded = await reader.loadState(booking, bookingId);
    assert.equal(loaded.state.paidMinor, 10_000);
    assert.equal(loaded.state.paymentIds.size, 10_000);
  });

  it("spaces the snapshots of a state that grows with its stream by their size, and keeps a small state's interval", async () => {
    // 1,000 characters a note: the big ledger's JSON passes 512 characters an event of the
    // 10-event interval from the first snapshot on.
    const inner = openSqliteStore({ path: ":memory:" });
    const { store, snapshotsSaved } = countingStore(inner);
    const app = createApp({ store, commands: [note] });
    for (let i = 0; i < 200; i++) {
      assert.equal((await app.commands.note({ ledgerId: "big", size: 1000 })).status, "accepted");
      assert.equal((await app.commands.note({ ledgerId: "small", size: 1 })).status, "accepted");
    }
    // The big state: unknown size at 10, then each snapshot's size sets the next spacing, the
    // interval doubled until it holds the size at 512 characters an event. At revision r its
    // JSON is ~1,003 r characters: ~10,030 at 10 asks for 20, ~20,060 at 20 for 40, and so on
    // to ~160,480 at 160, which asks for 320.
    assert.deepEqual(snapshotsSaved.get("ledger-big"), [10, 20, 40, 80, 160]);
    assert.deepEqual(snapshotsSaved.get("ledger-small"), Array.from({ length: 20 }, (_, i) => (i + 1) * 10));
    // A process with nothing cached still loads the big ledger whole, from its last snapshot.
    const reader = createApp({ store: inner, commands: [note], stateCacheSize: 0 });
    const { state, revision } = await reader.loadState(ledger, "big");
    assert.deepEqual([revision, state.notes.length], [200, 200]);
    // A new process goes on with the spacing of the snapshot it loads (~160,480 characters at
    // 160: every 320), instead of saving the whole state again at 210.
    const resumed = countingStore(inner);
    const next = createApp({ store: resumed.store, commands: [note] });
    for (let i = 0; i < 20; i++) assert.equal((await next.commands.note({ ledgerId: "big", size: 1000 })).status, "accepted");
    assert.equal(resumed.snapshotsSaved.get("ledger-big"), undefined);
  });

  it("weighs the cached states by their snapshots: one heavier than the budget is loaded every time, the light ones stay", async () => {
    const { store, counts } = countingStore(openSqliteStore({ path: ":memory:" }));
    // 15,000 characters: the big ledger's snapshot at 10 (~10,030) fits, the one at 20 (~20,060) does not.
    const app = createApp({ store, commands: [note], stateCacheChars: 15_000 });
    const reads = () => counts.snapshotReads + counts.streamReads;
    for (let i = 0; i < 10; i++) await app.commands.note({ ledgerId: "big", size: 1000 });
    await app.commands.note({ ledgerId: "small", size: 1 });
    let before = reads();
    await app.commands.note({ ledgerId: "big", size: 1000 });
    assert.equal(reads() - before, 0, "at 10 events the big ledger is cached");
    for (let i = 0; i < 9; i++) await app.commands.note({ ledgerId: "big", size: 1000 });
    before = reads();
    const result = await app.commands.note({ ledgerId: "big", size: 1000 });
    assert.equal(result.status === "accepted" && result.revision, 21);
    assert.equal(reads() - before, 2, "past the budget it is read again: its snapshot, then the events after it");
    before = reads();
    await app.commands.note({ ledgerId: "small", size: 1 });
    assert.equal(reads() - before, 0, "the small ledger stayed cached");
  });

  it("answers a query from the commands' cached state and the events after it, another process's included", async () => {
    const inner = openSqliteStore({ path: ":memory:" });
    const { store, counts } = countingStore(inner);
    const app = bookingApp({ store });
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId, "99999.00"));
    for (let i = 0; i < 150; i++) await app.commands.recordPayment(paymentPayload(bookingId, `A${i}`, "1.00"));
    const other = bookingApp({ store: inner });
    for (const paymentId of ["B0", "B1"]) await other.commands.recordPayment(paymentPayload(bookingId, paymentId, "1.00"));
    const before = { ...counts };
    const { state, revision } = await app.loadState(booking, bookingId);
    assert.equal(revision, 153);
    assert.deepEqual([state.paidMinor, [...state.paymentIds].slice(-3)], [15_200, ["A149", "B0", "B1"]]);
    assert.deepEqual(
      [counts.snapshotReads - before.snapshotReads, counts.streamReads - before.streamReads, counts.eventsRead - before.eventsRead],
      [0, 1, 2],
      "one read, of the two events the other app wrote",
    );
    const next = await app.commands.recordPayment(paymentPayload(bookingId, "A150", "1.00"));
    assert.equal(next.status === "accepted" && next.revision, 154, "the query left the cache up to date: no conflict, no retry");
  });

  it("does not cache streams that do not exist: queries for unknown ids leave the cached states alone", async () => {
    const { store, counts } = countingStore(openSqliteStore({ path: ":memory:" }));
    // Room for the booking's state and its room's.
    const app = bookingApp({ store, stateCacheSize: 2 });
    const bookingId = id();
    await app.commands.bookRoom(bookRoomPayload(bookingId));
    for (let i = 0; i < 5; i++) assert.equal((await app.loadState(booking, id("unknown"))).revision, 0);
    const before = counts.streamReads + counts.snapshotReads;
    const paid = await app.commands.recordPayment(paymentPayload(bookingId, "P1"));
    assert.equal(paid.status, "accepted");
    assert.equal(counts.streamReads + counts.snapshotReads - before, 0, "decided on the booking's cached state, which the unknown ids did not push out");
  });
});
