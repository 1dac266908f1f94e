import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { combineHooks, type PipelineHooks, type StageTiming } from "../../src/pipeline/hooks.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";

/** Hooks that write down everything they are told, in order. */
function recorder() {
  const told: Array<{ hook: string; facts: unknown }> = [];
  const hooks: PipelineHooks = {
    stage: (facts) => told.push({ hook: "stage", facts }),
    conflicted: (facts) => told.push({ hook: "conflicted", facts }),
    retried: (facts) => told.push({ hook: "retried", facts }),
    appended: (facts) => told.push({ hook: "appended", facts }),
    ended: (facts) => told.push({ hook: "ended", facts }),
  };
  const stages = () => told.filter((t) => t.hook === "stage").map((t) => (t.facts as StageTiming).stage);
  return { told, hooks, stages, clear: () => told.splice(0) };
}

describe("pipeline hooks", () => {
  it("time each stage of an accepted command in order, then tell the append's positions and the answer", async () => {
    const seen = recorder();
    const app = bookingApp({ hooks: seen.hooks });
    const result = await app.commands.bookRoom(bookRoomPayload("H1"));
    assert.equal(result.status, "accepted");
    assert.deepEqual(seen.stages(), ["validate", "authorize", "load", "decide", "append"]);
    for (const { facts } of seen.told.filter((t) => t.hook === "stage")) {
      const timing = facts as StageTiming;
      assert.equal(timing.commandId, result.commandId);
      assert.ok(timing.durationMs >= 0 && Math.abs(timing.startedAt - Date.now()) < 60_000, JSON.stringify(timing));
    }
    const appended = seen.told.find((t) => t.hook === "appended")!.facts as { positions: number[]; streamId: string; revision: number; commandType: string };
    assert.deepEqual(appended.positions, result.status === "accepted" ? result.events.map((e) => e.position) : []);
    assert.equal(appended.streamId, "booking-H1");
    assert.equal(appended.revision, 1);
    assert.equal(appended.commandType, "booking.BookRoom");
    const ended = seen.told.at(-1)!;
    assert.equal(ended.hook, "ended");
    assert.equal((ended.facts as { result: unknown }).result, result);
    await app.close();
  });

  it("tell a replay through the answer's `replayed`, and an invalid command after its validation only", async () => {
    const seen = recorder();
    const app = bookingApp({ hooks: seen.hooks });
    await app.commands.bookRoom(bookRoomPayload("H2"), { requestId: "r-h2" });
    seen.clear();
    const again = await app.commands.bookRoom(bookRoomPayload("H2"), { requestId: "r-h2" });
    assert.equal(again.replayed, true);
    assert.equal((seen.told.at(-1)!.facts as { result: { replayed: boolean } }).result.replayed, true);
    assert.equal(seen.told.filter((t) => t.hook === "appended").length, 0);
    seen.clear();
    const invalid = await app.execute({ type: "booking.BookRoom", payload: { bookingId: "" } });
    assert.equal(invalid.status, "invalid");
    assert.deepEqual(seen.stages(), ["validate"]);
    await app.close();
  });

  it("tell a revision conflict and the retry it causes when another writer moved the stream on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-hooks-"));
    try {
      const path = join(dir, "events.db");
      const seen = recorder();
      const app = bookingApp({ store: openSqliteStore({ path }), hooks: seen.hooks });
      const other = bookingApp({ store: openSqliteStore({ path }) });
      await app.commands.bookRoom(bookRoomPayload("H3"));
      // The other writer records a payment: the first app's cached state is now one revision behind.
      assert.equal((await other.commands.recordPayment(paymentPayload("H3", "P1"))).status, "accepted");
      seen.clear();
      const paid = await app.commands.recordPayment(paymentPayload("H3", "P2"));
      assert.equal(paid.status, "accepted");
      assert.equal(paid.status === "accepted" && paid.revision, 3);
      const conflicted = seen.told.filter((t) => t.hook === "conflicted").map((t) => t.facts);
      assert.deepEqual(conflicted.map((c) => [(c as { expectedRevision: number }).expectedRevision, (c as { actualRevision: number }).actualRevision]), [[1, 2]]);
      assert.deepEqual(seen.told.filter((t) => t.hook === "retried").map((t) => [(t.facts as { retry: number }).retry, (t.facts as { reason: string }).reason]), [[1, "conflict"]]);
      assert.deepEqual(seen.stages(), ["validate", "authorize", "load", "decide", "append", "load", "decide", "append"]);
      await Promise.all([app.close(), other.close()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("combine several watchers: every one is told, `around` nests in order, the first traceparent wins", async () => {
    const order: string[] = [];
    const a = recorder();
    const b = recorder();
    const hooks = combineHooks(
      { ...a.hooks, around: async (_e, run) => (order.push("a in"), await run().finally(() => order.push("a out"))) },
      { ...b.hooks, around: async (_e, run) => (order.push("b in"), await run().finally(() => order.push("b out"))), traceparent: () => undefined },
      { traceparent: () => "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    );
    const app = bookingApp({ hooks });
    await app.commands.bookRoom(bookRoomPayload("H4"));
    assert.deepEqual(order, ["a in", "b in", "b out", "a out"]);
    assert.deepEqual(a.stages(), b.stages());
    assert.equal(a.stages().length, 5);
    const [stored] = await app.store.readStream("default", "booking-H4");
    assert.equal(stored.metadata.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    await app.close();
  });

  it("keep a caller's traceparent in the events only when it is well formed", async () => {
    const app = bookingApp();
    const good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    await app.commands.bookRoom(bookRoomPayload("H5"), { traceparent: good });
    await app.commands.bookRoom(bookRoomPayload("H6"), { traceparent: "not a trace" });
    assert.equal((await app.store.readStream("default", "booking-H5"))[0].metadata.traceparent, good);
    assert.equal((await app.store.readStream("default", "booking-H6"))[0].metadata.traceparent, undefined);
    await app.close();
  });
});

describe("dry run", () => {
  it("answers accepted with the events it would write at position 0, and writes no event and no request record", async () => {
    const seen = recorder();
    const app = bookingApp({ hooks: seen.hooks });
    const dry = await app.execute({ type: "booking.BookRoom", payload: bookRoomPayload("D1"), metadata: { requestId: "r-d1" }, dryRun: true });
    assert.equal(dry.status, "accepted");
    assert.equal(dry.status === "accepted" && dry.position, 0);
    assert.deepEqual(dry.status === "accepted" && dry.events.map((e) => [e.type, e.revision, e.position]), [["RoomBooked", 1, 0], ["NightsReserved", 1, 0]]);
    assert.deepEqual(seen.stages(), ["validate", "authorize", "load", "decide"]);
    assert.equal((seen.told.at(-1)!.facts as { dryRun: boolean }).dryRun, true);
    assert.equal(await app.store.headPosition(), 0);
    assert.equal(await app.store.findRequest("default", "r-d1"), undefined);
    // The same request id then runs for real: the dry run left nothing to replay.
    const real = await app.execute({ type: "booking.BookRoom", payload: bookRoomPayload("D1"), metadata: { requestId: "r-d1" } });
    assert.equal(real.status, "accepted");
    assert.equal(real.replayed, false);
    assert.equal(await app.store.headPosition(), 2, "RoomBooked and its room's NightsReserved");
    await app.close();
  });

  it("decides against the current state: a rejection, a missing stream and an existing one as Execute would answer", async () => {
    const app = bookingApp();
    await app.commands.bookRoom(bookRoomPayload("D2"));
    await app.commands.cancelBooking({ bookingId: "D2", reason: "plans changed" });
    const head = await app.store.headPosition();
    const pay = await app.execute({ type: "booking.RecordPayment", payload: paymentPayload("D2", "P1"), dryRun: true });
    assert.equal(pay.status === "rejected" && pay.code, "BOOKING_CANCELLED");
    assert.equal((await app.execute({ type: "booking.RecordPayment", payload: paymentPayload("nobody", "P1"), dryRun: true })).status, "not_found");
    assert.equal((await app.execute({ type: "booking.BookRoom", payload: bookRoomPayload("D2"), dryRun: true })).status, "already_exists");
    assert.equal(await app.store.headPosition(), head);
    await app.close();
  });

  it("decides on the stream as stored, not on a state another writer has moved past", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-dry-"));
    try {
      const path = join(dir, "events.db");
      const app = bookingApp({ store: openSqliteStore({ path }) });
      const other = bookingApp({ store: openSqliteStore({ path }) });
      await app.commands.bookRoom(bookRoomPayload("D3"));
      await other.commands.cancelBooking({ bookingId: "D3", reason: "plans changed" });
      const dry = await app.execute({ type: "booking.RecordPayment", payload: paymentPayload("D3", "P1"), dryRun: true });
      assert.equal(dry.status === "rejected" && dry.code, "BOOKING_CANCELLED");
      await Promise.all([app.close(), other.close()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
