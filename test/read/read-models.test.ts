import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { bookingProjections } from "../../src/domain/booking/index.js";
import { QueryError } from "../../src/read/read-models.js";
import type { EventStore } from "../../src/store/event-store.js";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";
import { itOnPostgres } from "../support/postgres.js";

const T = { tenant: "default" };
const refused = (reason: string, field?: string) => (error: unknown) => {
  assert.ok(error instanceof QueryError, String(error));
  assert.equal(error.reason, reason);
  if (field !== undefined) assert.equal(error.details.field, field);
  return true;
};
const checkIn = (i: number) => `2026-06-${String(1 + (i % 28)).padStart(2, "0")}`;
const checkOut = (i: number) => `2026-07-${String(1 + (i % 28)).padStart(2, "0")}`;

describe("app.read", () => {
  const app = bookingApp({ projections: bookingProjections, runAsyncProjections: false });
  before(async () => {
    for (let i = 0; i < 30; i++) {
      const r = await app.commands.bookRoom({ ...bookRoomPayload(`B${String(i).padStart(2, "0")}`), guestId: `G${i % 3}`, checkIn: checkIn(i), checkOut: checkOut(i) });
      assert.equal(r.status, "accepted");
    }
    await app.commands.recordPayment(paymentPayload("B00", "p1", "300.00"));
    await app.commands.cancelBooking({ bookingId: "B01", reason: "guest asked" });
  });
  after(() => app.close());

  it("fetches, finds, finds one and queries with equality, ranges and in", async () => {
    const b00 = await app.read.fetch("bookings", "B00", T);
    assert.equal(b00?.data.status, "fully_paid");
    assert.equal(await app.read.fetch("bookings", "nope", T), undefined);
    const g1 = await app.read.query("bookings", { guestId: "G1" }, T);
    assert.equal(g1.length, 10);
    const open = await app.read.query("bookings", { status: { in: ["fully_paid", "cancelled"] } }, T);
    assert.deepEqual(open.map((d) => d.id), ["B00", "B01"]);
    const june = await app.read.query("bookings", { checkIn: { gte: "2026-06-05", lt: "2026-06-08" } }, { ...T, orderBy: { field: "checkIn", direction: "desc" } });
    assert.deepEqual(june.map((d) => d.data.checkIn), ["2026-06-07", "2026-06-06", "2026-06-05"]);
    const unpaid = await app.read.findOne("bookings", { outstandingMinor: { gt: 0 }, guestId: "G0" }, T);
    assert.equal(unpaid?.id, "B03");
    assert.deepEqual((await app.read.query("bookings", { guestId: "G1" }, { tenant: "other" })).length, 0, "another tenant sees none");
  });

  it("refuses filters and orders on anything but declared fields, naming the field", async () => {
    await assert.rejects(app.read.find("bookings", { price: 3 }, T), refused("INVALID_FILTER", "price"));
    await assert.rejects(app.read.find("bookings", { status: { like: "b%" } } as never, T), refused("INVALID_FILTER", "status.like"));
    await assert.rejects(app.read.find("bookings", { paidMinor: "lots" }, T), refused("INVALID_FILTER", "paidMinor"));
    await assert.rejects(app.read.find("bookings", { createdAt: { gt: "yesterday" } }, T), refused("INVALID_FILTER", "createdAt.gt"));
    await assert.rejects(app.read.find("bookings", {}, { ...T, orderBy: { field: "price" } }), refused("INVALID_ORDER", "price"));
    await assert.rejects(app.read.find("rooms", {}, T), refused("UNKNOWN_COLLECTION"));
    await assert.rejects(app.read.find("bookings", {}, { ...T, pageSize: -1 }), refused("INVALID_PAGE_SIZE", "pageSize"));
  });

  it("pages by keyset with a default and a capped page size; every booking once, in order", async () => {
    const first = await app.read.find("bookings", {}, T);
    assert.equal(first.documents.length, 30);
    assert.equal(first.nextPageToken, "");
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await app.read.find("bookings", { guestId: { in: ["G0", "G1"] } }, { ...T, orderBy: { field: "checkIn" }, pageSize: 3, pageToken });
      assert.ok(page.documents.length <= 3);
      seen.push(...page.documents.map((d) => d.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.equal(seen.length, 20);
    assert.equal(new Set(seen).size, 20);
    const dates = await Promise.all(seen.map(async (id) => (await app.read.fetch("bookings", id, T))!.data.checkIn as string));
    assert.deepEqual(dates, [...dates].sort());
  });

  it("returns every booking there was exactly once while bookings are added between pages", async () => {
    const before = new Set((await app.read.query("bookings", {}, T)).map((d) => d.id));
    const seen: string[] = [];
    let pageToken = "";
    let added = 0;
    do {
      const page = await app.read.find("bookings", {}, { ...T, orderBy: { field: "createdAt", direction: "desc" }, pageSize: 4, pageToken });
      seen.push(...page.documents.map((d) => d.id));
      pageToken = page.nextPageToken;
      await app.commands.bookRoom({ ...bookRoomPayload(`N${added++}`), checkIn: checkIn(added) });
    } while (pageToken);
    assert.equal(new Set(seen).size, seen.length, "no booking twice");
    for (const id of before) assert.ok(seen.includes(id), `${id} was listed`);
  });

  it("refuses a changed or forged token, and one used with another tenant, filter or order", async () => {
    const page = await app.read.find("bookings", { guestId: "G1" }, { ...T, pageSize: 2 });
    const token = page.nextPageToken;
    assert.ok(token);
    const [payload, mac] = token.split(".");
    const changed = `${Buffer.from(JSON.stringify(["B99"])).toString("base64url")}.${mac}`;
    // The last character of the 16-byte MAC carries 2 bits and 4 spare ones: its neighbour in the
    // alphabet decodes to the same bytes, as does a character outside the alphabet, which decoding skips.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const spareBits = `${payload}.${mac.slice(0, -1)}${alphabet[alphabet.indexOf(mac.at(-1)!) ^ 1]}`;
    for (const [filter, options] of [
      [{ guestId: "G1" }, { ...T, pageToken: changed }],
      [{ guestId: "G1" }, { ...T, pageToken: `${payload}.AAAA${mac.slice(4)}` }],
      [{ guestId: "G1" }, { ...T, pageToken: spareBits }],
      [{ guestId: "G1" }, { ...T, pageToken: `${payload}.${mac.slice(0, 3)}!${mac.slice(3)}` }],
      [{ guestId: "G1" }, { ...T, pageToken: `${payload.slice(0, 2)}*${payload.slice(2)}.${mac}` }],
      [{ guestId: "G1" }, { ...T, pageToken: "garbage" }],
      [{ guestId: "G1" }, { tenant: "other", pageToken: token }],
      [{ guestId: "G2" }, { ...T, pageToken: token }],
      [{ guestId: "G1" }, { ...T, pageToken: token, orderBy: { field: "checkIn" } }],
    ] as const) {
      await assert.rejects(app.read.find("bookings", filter, options), refused("INVALID_PAGE_TOKEN", "pageToken"));
    }
    const next = await app.read.find("bookings", { guestId: "G1" }, { ...T, pageSize: 2, pageToken: token });
    assert.equal(next.documents.length, 2);
  });

  it("answers an inline read model at once for a committed position, and an async one waits, then is NOT_CAUGHT_UP", async () => {
    const result = await app.commands.recordPayment(paymentPayload("B05", "p9", "10.00"));
    assert.equal(result.status, "accepted");
    const position = result.status === "accepted" ? result.position : 0;
    // At once: an inline model at a committed position answers even when the caller has no time left to wait.
    assert.equal((await app.read.fetch("bookings", "B05", { ...T, minPosition: position, signal: AbortSignal.abort() }))?.data.paidMinor, 1000);
    await assert.rejects(app.read.fetch("bookings", "B05", { ...T, minPosition: position + 1000, signal: AbortSignal.timeout(50) }), refused("NOT_CAUGHT_UP"));
    // No runner follows guest_stays here: it stays at 0.
    await assert.rejects(app.read.fetch("guest_stays", "G1", { ...T, minPosition: position, signal: AbortSignal.timeout(100) }), (error) => {
      assert.ok(error instanceof QueryError && error.reason === "NOT_CAUGHT_UP" && error.details.position === 0);
      return true;
    });
  });

  it("waits for an async read model to reach minPosition once its runner follows", async () => {
    const running = bookingApp({ projections: bookingProjections, store: undefined });
    try {
      let last = 0;
      for (let i = 0; i < 5; i++) {
        const r = await running.commands.bookRoom({ ...bookRoomPayload(`R${i}`), guestId: "G7" });
        if (r.status === "accepted") last = r.position;
      }
      const paid = await running.commands.recordPayment(paymentPayload("R0", "p1", "50.00"));
      if (paid.status === "accepted") last = paid.position;
      const stays = await running.read.fetch("guest_stays", "G7", { ...T, minPosition: last, signal: AbortSignal.timeout(5000) });
      assert.equal(stays?.data.bookings, 5);
      assert.equal(stays?.data.nightsBooked, 15);
      assert.deepEqual(stays?.data.paidMinor, { EUR: 5000 });
    } finally {
      await running.close();
    }
  });
});

/**
 * Pages through one guest's bookings by check-in, 4 at a time, while with each page's query
 * two more bookings of that guest are made, on check-in days before and after the page
 * boundary: every booking made before the listing began comes exactly once, none twice,
 * in check-in order (keyset paging: a row inserted behind the cursor is not met, one ahead
 * of it is met once).
 */
async function pagesWhileInserting(store: EventStore): Promise<void> {
  const app = bookingApp({ store, projections: bookingProjections, runAsyncProjections: false });
  const book = async (id: string, day: number) => {
    const result = await app.commands.bookRoom({ ...bookRoomPayload(id), guestId: "pager", checkIn: checkIn(day), checkOut: "2026-07-30" });
    assert.equal(result.status, "accepted", JSON.stringify(result));
  };
  try {
    for (let i = 0; i < 40; i++) await book(`P${String(i).padStart(2, "0")}`, i);
    const initial = (await app.read.query("bookings", { guestId: "pager" }, T)).map((d) => d.id);
    assert.equal(initial.length, 40);
    const seen: Array<{ id: string; checkIn: string }> = [];
    let pageToken = "";
    let inserted = 0;
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 100, "the listing ends");
      const [page] = await Promise.all([
        app.read.find("bookings", { guestId: "pager" }, { ...T, orderBy: { field: "checkIn" }, pageSize: 4, pageToken }),
        book(`N${inserted++}`, pages),
        book(`N${inserted++}`, 27 - pages),
      ]);
      assert.ok(page.documents.length <= 4);
      seen.push(...page.documents.map((d) => ({ id: d.id, checkIn: d.data.checkIn as string })));
      pageToken = page.nextPageToken;
      if (!pageToken) break;
    }
    const ids = seen.map((s) => s.id);
    assert.equal(new Set(ids).size, ids.length, `no booking twice: ${ids.join()}`);
    for (const id of initial) assert.ok(ids.includes(id), `${id} was listed`);
    const order = seen.map((s) => `${s.checkIn} ${s.id}`);
    assert.deepEqual(order, [...order].sort(), "in check-in order, ties by id");
    assert.ok(ids.some((id) => id.startsWith("N")), "some bookings inserted while paging were listed");
    assert.ok(inserted > ids.filter((id) => id.startsWith("N")).length, "some were inserted behind the cursor");
  } finally {
    await app.close();
  }
}

describe("paging while bookings are inserted", () => {
  it("returns every booking there was exactly once, in order, on SQLite", async () => {
    await pagesWhileInserting(openSqliteStore({ path: ":memory:" }));
  });

  itOnPostgres("returns every booking there was exactly once, in order, on PostgreSQL", "paging_while_inserting", async (url) =>
    pagesWhileInserting(await openPostgresStore({ connectionString: url })),
  );
});
