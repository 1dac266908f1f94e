import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bookingProjections, bookingsProjection, guestStaysProjection } from "../../src/domain/booking/index.js";
import { givenEvents } from "../../src/kernel/projection-specification.js";
import type { AnyProjection } from "../../src/kernel/projection.js";
import { storedCollectionOf } from "../../src/read/field-values.js";
import { startProjectionRunner } from "../../src/read/projection-runner.js";
import { consumerNameOf } from "../../src/read/read-service.js";
import { rebuildProjection } from "../../src/read/rebuild.js";
import type { EventStore } from "../../src/store/event-store.js";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";
import { eventually } from "../support/eventually.js";
import { itOnPostgres, itOnPostgresServer } from "../support/postgres.js";

/** One step of a random history over a few bookings and guests. */
const step = fc.oneof(
  fc.record({ kind: fc.constant("book" as const), booking: fc.nat(5), guest: fc.nat(2), nights: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ kind: fc.constant("pay" as const), booking: fc.nat(5), amount: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant("cancel" as const), booking: fc.nat(5) }),
);

/** A collection's documents by id, without their versions (a rebuild numbers them anew). */
async function contents(store: EventStore, projection: AnyProjection): Promise<Record<string, unknown>> {
  const rows = await store.findDocuments!("default", `${projection.collection}@${projection.version}`, { limit: 1000 });
  return Object.fromEntries(rows.map((r) => [r.id, r.data]));
}

/**
 * The property on one store: after a random history, a rebuild equals what was maintained all
 * along. `parameters` bound the runs (and their shrinking).
 */
function rebuildEqualsMaintained(open: () => Promise<EventStore>, parameters: fc.Parameters<[unknown]>) {
  return fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
      const store = await open();
      const app = bookingApp({ store, projections: bookingProjections, projectionLeaseMs: 1000 });
      try {
        let payment = 0;
        for (const s of steps) {
          const id = `B${s.booking}`;
          if (s.kind === "book") await app.commands.bookRoom({ ...bookRoomPayload(id), guestId: `G${s.guest}`, checkOut: `2026-06-${String(1 + s.nights).padStart(2, "0")}` });
          else if (s.kind === "pay") await app.commands.recordPayment(paymentPayload(id, `p${payment++}`, `${s.amount}.00`));
          else await app.commands.cancelBooking({ bookingId: id, reason: "guest asked" });
        }
        const head = await store.headPosition();
        await eventually("guest_stays catching up", async () => (await store.consumerCheckpoint!(consumerNameOf(guestStaysProjection))) >= head, 10_000);
        const maintained = [await contents(store, bookingsProjection), await contents(store, guestStaysProjection)];
        for (const projection of [bookingsProjection, guestStaysProjection]) {
          // Bounded like the catching up above: a rebuild that never swaps fails the run, not the whole file by hanging.
          await rebuildProjection({ store, feed: app.feed, projection, projections: bookingProjections, signal: AbortSignal.timeout(10_000) });
        }
        assert.deepEqual([await contents(store, bookingsProjection), await contents(store, guestStaysProjection)], maintained);
      } finally {
        await app.close();
      }
    }),
    parameters,
  );
}

describe("rebuild", () => {
  it("equals the continuously maintained read models after a random history, on SQLite", async () => {
    await rebuildEqualsMaintained(async () => openSqliteStore({ path: ":memory:" }), { numRuns: 10 });
  });

  // Each run costs a database and a second or two, so there are fewer of them, and a failure is
  // reported as found, unshrunk: shrinking one took minutes.
  itOnPostgresServer("equals the continuously maintained read models after a random history, on PostgreSQL", async (postgres) => {
    let n = 0;
    await rebuildEqualsMaintained(async () => openPostgresStore({ connectionString: await postgres.database(`rebuild_${n++}`) }), { numRuns: 15, endOnFailure: true });
  });

  it("moves a live runner that lags behind the swap on to it, so the events the rebuild folded are not folded again", async () => {
    const app = bookingApp({ projections: bookingProjections, runAsyncProjections: false });
    // The runner's document reads wait at the gate: it has taken the booking's event but not
    // yet read the guest's document when the rebuild swaps.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    const lagging: EventStore = {
      ...app.store,
      fetchDocument: async (...args) => {
        reached();
        await gate;
        return app.store.fetchDocument!(...args);
      },
    };
    const runner = startProjectionRunner({ store: lagging, feed: app.feed, projection: guestStaysProjection, projections: bookingProjections, lingerMs: 0 });
    try {
      await app.commands.bookRoom({ ...bookRoomPayload("B0"), guestId: "G0" });
      await atGate;
      const rebuilt = await rebuildProjection({ store: app.store, feed: app.feed, projection: guestStaysProjection, projections: bookingProjections });
      open();
      await eventually("the runner going on", async () => runner.position >= rebuilt.position);
      assert.deepEqual((await app.store.fetchDocument!("default", storedCollectionOf(guestStaysProjection), "G0"))?.data, { guestId: "G0", bookings: 1, nightsBooked: 3, paidMinor: {} });
    } finally {
      open();
      await runner.stop();
      await app.close();
    }
  });

  /** A live runner caught up and holding a guest's document; a rebuild swaps the collection under it; then the guest books again. */
  async function liveRunnerThroughASwap(store: EventStore) {
    const app = bookingApp({ store, projections: bookingProjections, runAsyncProjections: false });
    const errors: unknown[] = [];
    const runner = startProjectionRunner({ store: app.store, feed: app.feed, projection: guestStaysProjection, projections: bookingProjections, lingerMs: 0, onError: (e) => errors.push(e) });
    const guest = async () => (await app.store.fetchDocument!("default", storedCollectionOf(guestStaysProjection), "G0"))?.data;
    try {
      await app.commands.bookRoom({ ...bookRoomPayload("B0"), guestId: "G0" });
      await eventually("the runner at the head", async () => runner.position >= (await app.store.headPosition()));
      const rebuilt = await rebuildProjection({ store: app.store, feed: app.feed, projection: guestStaysProjection, projections: bookingProjections });
      assert.ok(rebuilt.rebuilt);
      await app.commands.bookRoom({ ...bookRoomPayload("B1"), roomId: "R-other", guestId: "G0" });
      const head = await app.store.headPosition();
      await eventually("the runner going on past the swap", async () => runner.position >= head);
      assert.deepEqual(await guest(), { guestId: "G0", bookings: 2, nightsBooked: 6, paidMinor: {} });
      // The swap gave up the runner's lease: its commit was refused as lease-lost, not failed on a document it no longer knew.
      assert.deepEqual(errors, []);
    } finally {
      await runner.stop();
      await app.close();
    }
  }

  it("a live runner caught up when the rebuild swaps goes on with the swapped documents, without an error, on SQLite", async () => {
    await liveRunnerThroughASwap(openSqliteStore({ path: ":memory:" }));
  });

  itOnPostgres("a live runner caught up when the rebuild swaps goes on with the swapped documents, without an error, on PostgreSQL", "rebuild_swap_live", async (url) =>
    liveRunnerThroughASwap(await openPostgresStore({ connectionString: url })),
  );

  it("rebuilds while commands keep running, and the result is the fold of every event", async () => {
    const app = bookingApp({ projections: bookingProjections, runAsyncProjections: false });
    try {
      for (let i = 0; i < 50; i++) await app.commands.bookRoom({ ...bookRoomPayload(`B${i}`), guestId: `G${i % 4}` });
      let running = true;
      const commands = (async () => {
        for (let i = 0; running; i++) await app.commands.recordPayment(paymentPayload(`B${i % 50}`, `p${i}`, "1.00"));
      })();
      const rebuilt = await rebuildProjection({ store: app.store, feed: app.feed, projection: bookingsProjection, projections: bookingProjections });
      assert.ok(rebuilt.rebuilt);
      running = false;
      await commands;
      const events = await app.store.readAll("default", { maxCount: 10_000 });
      givenEvents(bookingsProjection, events.map((e) => ({ type: e.type, data: e.data, streamId: e.streamId, metadata: e.metadata }))).thenDocuments(await contents(app.store, bookingsProjection));
    } finally {
      await app.close();
    }
  });
});
