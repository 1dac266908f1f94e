import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { defineProjection } from "../../src/kernel/projection.js";
import { bookingsProjection } from "../../src/domain/booking/index.js";
import { ProjectionError } from "../../src/pipeline/inline-projections.js";
import { storedCollectionOf } from "../../src/read/field-values.js";
import type { EventStore } from "../../src/store/event-store.js";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";
import { itOnPostgres } from "../support/postgres.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-inline-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An inline per-guest counter fed by the bookings of many streams: its writers race. */
const guestCount = defineProjection<{ bookings: number }>({
  collection: "guest_count",
  version: 1,
  mode: "inline",
  eventTypes: ["RoomBooked"],
  documentId: (event) => (event.data as { guestId: string }).guestId,
  evolve: (document) => ({ bookings: (document?.bookings ?? 0) + 1 }),
  fields: { bookings: "number" },
});

describe("inline projections in the pipeline", () => {
  it("changes the booking's document in the command's append", async () => {
    const app = bookingApp({ projections: [bookingsProjection] });
    try {
      assert.equal((await app.commands.bookRoom(bookRoomPayload("B1"))).status, "accepted");
      const payment = await app.commands.recordPayment(paymentPayload("B1", "p1"));
      assert.equal(payment.status, "accepted");
      const document = await app.store.fetchDocument!("default", storedCollectionOf(bookingsProjection), "B1");
      assert.equal(document?.version, 2);
      assert.deepEqual([(document?.data as { paidMinor: number }).paidMinor, (document?.data as { outstandingMinor: number }).outstandingMinor], [10000, 20000]);
    } finally {
      await app.close();
    }
  });

  it("fails a command whose projection throws: nothing written, a failed result with an error id, the failure told", async () => {
    const broken = defineProjection({ ...bookingsProjection, collection: "broken", evolve: () => { throw new Error("no room for this"); } });
    const failures: unknown[] = [];
    const app = bookingApp({ projections: [bookingsProjection, broken], onFailure: (_id, error) => failures.push(error) });
    try {
      const result = await app.commands.bookRoom(bookRoomPayload("B1"));
      assert.equal(result.status, "failed");
      assert.match(String((failures[0] as Error).message), /projection "broken" failed on a RoomBooked event: no room for this/);
      assert.equal(await app.store.headPosition(), 0, "no event written, on the booking's stream nor its room's");
      assert.equal(await app.store.fetchDocument!("default", storedCollectionOf(bookingsProjection), "B1"), undefined, "no document of another projection written");
    } finally {
      await app.close();
    }
  });

  it("a projection throwing mid-history on SQLite leaves the events and every read model as they were", async () => {
    await throwingMidHistory(openSqliteStore({ path: ":memory:" }));
  });

  itOnPostgres("a projection throwing mid-history on PostgreSQL leaves the events and every read model as they were", "inline_projection_throws", async (url) =>
    throwingMidHistory(await openPostgresStore({ connectionString: url })),
  );

  it("fails a command whose document holds a value of another type than a declared field", async () => {
    const mistyped = defineProjection({ ...guestCount, collection: "mistyped", evolve: () => ({ bookings: "many" as unknown as number }) });
    const app = bookingApp({ projections: [mistyped] });
    try {
      assert.equal((await app.commands.bookRoom(bookRoomPayload("B1"))).status, "failed");
      assert.equal(await app.store.streamRevision("default", "booking-B1"), 0);
    } finally {
      await app.close();
    }
  });

  it("loses no update to a document many commands and two connections to one file write at once", async () => {
    const path = join(dir, "shared.db");
    const apps = [0, 1].map(() => bookingApp({ store: openSqliteStore({ path }), projections: [guestCount], maxRetries: 50 }));
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => apps[i % 2].commands.bookRoom(bookRoomPayload(`B${i}`))));
      assert.deepEqual(new Set(results.map((r) => r.status)), new Set(["accepted"]));
      const document = await apps[0].store.fetchDocument!("default", "guest_count@1", "guest-1");
      // Its version is not checked: the start-up build of guest_count may swap in while the bookings run, numbering versions anew.
      assert.deepEqual(document?.data, { bookings: 40 });
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });
});

/** The bookings read model again, under another name, with a bug: it throws on the payment "p-refused". */
const refusing = defineProjection({
  ...bookingsProjection,
  collection: "refusing",
  evolve: (...args: Parameters<typeof bookingsProjection.evolve>) => {
    const [, event] = args;
    if (event.type === "PaymentRecorded" && (event.data as { paymentId: string }).paymentId === "p-refused") throw new Error("no room for this");
    return bookingsProjection.evolve(...args);
  },
});

/**
 * A booking, then a payment in full (PaymentRecorded and BookingFullyPaid) that `refusing`
 * throws on after `bookings` has folded it: the command fails with an error id that names the
 * failure told, neither event is written, neither document changes, and the next payment
 * folds onto the documents as they were (no half-applied update held anywhere).
 */
async function throwingMidHistory(store: EventStore): Promise<void> {
  const failures: Array<[string, unknown]> = [];
  const app = bookingApp({ store, projections: [bookingsProjection, refusing], onFailure: (id, error) => failures.push([id, error]) });
  const documents = async () => [await store.fetchDocument!("default", storedCollectionOf(bookingsProjection), "B1"), await store.fetchDocument!("default", storedCollectionOf(refusing), "B1")];
  try {
    assert.equal((await app.commands.bookRoom(bookRoomPayload("B1"))).status, "accepted");
    const head = await store.headPosition();
    const before = await documents();
    assert.deepEqual(before.map((d) => d?.version), [1, 1]);

    const result = await app.commands.recordPayment(paymentPayload("B1", "p-refused", "300.00"));
    assert.equal(result.status, "failed");
    assert.equal(failures.length, 1);
    const [errorId, error] = failures[0];
    assert.equal(result.status === "failed" && result.errorId, errorId, "the result carries the id the failure is told under");
    assert.ok(error instanceof ProjectionError, String(error));
    assert.equal(error.message, 'projection "refusing" failed on a PaymentRecorded event: no room for this');
    assert.equal(await store.headPosition(), head, "no event written");
    assert.equal(await store.streamRevision("default", "booking-B1"), 1);
    assert.deepEqual(await documents(), before, "both documents as they were");

    const next = await app.commands.recordPayment(paymentPayload("B1", "p2", "100.00"));
    assert.equal(next.status, "accepted");
    const after = await documents();
    assert.deepEqual(after.map((d) => d?.version), [2, 2]);
    for (const document of after) assert.deepEqual([(document?.data as { paidMinor: number }).paidMinor, (document?.data as { outstandingMinor: number }).outstandingMinor], [10000, 20000]);
  } finally {
    await app.close();
  }
}
