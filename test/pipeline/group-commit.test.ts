import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "switchyard-group-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("group commit", () => {
  it("commits a batch whose members are accepted, rejected and conflicting, reporting each outcome", async () => {
    const batches: number[] = [];
    const store = openSqliteStore({ path: join(dir, "batch.db"), beforeCommit: (n) => batches.push(n) });
    // Two pipelines on one store stand for two writers: both load G-1 at revision 1, so their
    // appends meet in one batch and the second one conflicts inside it.
    // No state cache, so both take the same steps to load and their appends arrive together;
    // no read model, whose document cache would make the first writer the one that conflicts.
    const [left, right] = [bookingApp({ store, stateCacheSize: 0, projections: [] }), bookingApp({ store, stateCacheSize: 0, projections: [] })];
    await left.commands.bookRoom(bookRoomPayload("G-1"));
    await left.commands.bookRoom(bookRoomPayload("G-2"));
    await left.commands.cancelBooking({ bookingId: "G-2", reason: "x" });
    await right.commands.recordPayment(paymentPayload("G-1", "warm"), { expectedRevision: 1 }).catch(() => undefined);
    batches.length = 0;
    const revision = await store.streamRevision("default", "booking-G-1");

    const [booked, paid, rejected, conflicting] = await Promise.all([
      left.commands.bookRoom(bookRoomPayload("G-3"), { requestId: "g3" }),
      left.commands.recordPayment(paymentPayload("G-1", "P1"), { requestId: "p1", expectedRevision: revision }),
      left.commands.recordPayment(paymentPayload("G-2", "P2"), { requestId: "p2" }),
      right.commands.recordPayment(paymentPayload("G-1", "P3"), { requestId: "p3", expectedRevision: revision }),
    ]);
    assert.equal(batches[0], 4, `all four appends shared the first commit: ${batches}`);
    assert.equal(booked.status, "accepted");
    assert.equal(paid.status, "accepted");
    assert.equal(rejected.status === "rejected" && rejected.code, "BOOKING_CANCELLED");
    assert.equal(conflicting.status, "conflict");
    if (conflicting.status === "conflict") assert.deepEqual([conflicting.expectedRevision, conflicting.actualRevision], [revision, revision + 1]);

    assert.deepEqual((await store.readStream("default", "booking-G-3")).map((e) => e.type), ["RoomBooked"]);
    const g1 = await store.readStream("default", "booking-G-1");
    assert.deepEqual(g1.slice(revision).map((e) => (e.data as { paymentId: string }).paymentId), ["P1"]);
    assert.equal((await store.readStream("default", "booking-G-2")).length, 2, "the rejection wrote no event");
    assert.equal(((await store.findRequest("default", "p2"))?.result as { status: string }).status, "rejected");
    assert.equal(await store.findRequest("default", "p3"), undefined, "a conflict is not recorded");
    await left.close();
  });

  it("acknowledges none of a batch when the process dies before its commit, and keeps none of it", async () => {
    const path = join(dir, "crash.db");
    const worker = join(import.meta.dirname, "..", "fixtures", "crash-before-commit.ts");
    const outcome = await run(process.execPath, ["--import", "tsx", worker, path]).then(
      () => ({ signal: null, stdout: "" }),
      (error: { signal: string; stdout: string }) => error,
    );
    assert.equal(outcome.signal, "SIGKILL");
    assert.equal(outcome.stdout, "", "no command was acknowledged");
    const store = openSqliteStore({ path });
    try {
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await store.readStream("default", `booking-CRASH-${i}`), []);
        assert.deepEqual(await store.readStream("default", `room-CRASH-${i}`), [], "neither of the command's two streams was written");
        assert.equal(await store.findRequest("default", `crash-${i}`), undefined);
      }
      // The same commands again, with nothing in the way: both streams of each are written.
      const app = bookingApp({ store });
      for (let i = 0; i < 5; i++) {
        const booked = await app.commands.bookRoom(bookRoomPayload(`CRASH-${i}`), { requestId: `crash-${i}` });
        assert.equal(booked.status, "accepted");
        assert.deepEqual((await store.readStream("default", `room-CRASH-${i}`)).map((e) => e.type), ["NightsReserved"]);
      }
    } finally {
      await store.close();
    }
  });
});
