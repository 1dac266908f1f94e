import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { QueryService } from "../../src/gen/switchyard/query/v1/query_pb.js";
import { hs256Token } from "../support/auth-helpers.js";
import { failing, grpcJsClient, type GrpcFailure, type GrpcJsClient } from "../support/grpc-client.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const SECRET = randomBytes(32).toString("base64");
const STAFF = "bookings:write bookings:read";

/** A check-in day in July 2030 (1–28), so orders by check-in have ties to break. */
const day = (n: number) => `2030-07-${String((n % 28) + 1).padStart(2, "0")}`;

describe("read models on the wire, against a real server", () => {
  let server: ServerProcess;
  let bookings: GrpcJsClient<typeof BookingService>;
  let queries: GrpcJsClient<typeof QueryService>;
  const auth: Record<string, Record<string, string>> = {};

  before(async () => {
    server = await startServerProcess({ AUTH_MODE: "jwt", AUTH_AUDIENCE: "switchyard", AUTH_JWT_SECRET: SECRET });
    bookings = grpcJsClient(BookingService, server.grpcAddress, { deadlineMs: 10_000 });
    queries = grpcJsClient(QueryService, server.grpcAddress, { deadlineMs: 10_000 });
    const bearer = async (sub: string, tenant: string, scope: string) => ({
      authorization: `Bearer ${await hs256Token(new TextEncoder().encode(SECRET), { sub, tenant, scope, audience: "switchyard" })}`,
    });
    auth.staffA = await bearer("desk-a", "tenant-a", STAFF);
    auth.staffB = await bearer("desk-b", "tenant-b", STAFF);
    auth.alice = await bearer("alice", "tenant-a", "bookings:own");
  });
  after(async () => {
    bookings?.close();
    queries?.close();
    await server?.dispose();
  });

  const book = (guestId: string, n: number, who = auth.staffA) =>
    bookings.bookRoom({ ...bookRoomRequest(newId(`L${n}`), { guestId }), checkIn: day(n), checkOut: "2030-08-01" }, who);

  it("pages return every booking exactly once, in order, while bookings are inserted between pages", async () => {
    const guestId = newId("pager");
    const initial = new Set<string>();
    for (let n = 0; n < 40; n++) initial.add((await book(guestId, n)).aggregateId);
    const seen: Array<{ id: string; checkIn: string }> = [];
    let pageToken = "";
    let inserted = 0;
    for (let pages = 0; pages < 40; pages++) {
      const page = await bookings.listBookings({ guestId, orderBy: "check_in", pageSize: 6, pageToken }, auth.staffA);
      assert.ok(page.bookings.length <= 6);
      seen.push(...page.bookings.map((b) => ({ id: b.bookingId, checkIn: b.checkIn })));
      if (!page.nextPageToken) break;
      pageToken = page.nextPageToken;
      // Bookings on days before and after the page boundary, written between two pages.
      await Promise.all([0, 9, 27].map((k) => book(guestId, 100 + inserted++ + k)));
    }
    const ids = seen.map((s) => s.id);
    assert.equal(new Set(ids).size, ids.length, "no booking twice");
    for (const id of initial) assert.ok(ids.includes(id), `${id} was listed`);
    const days = seen.map((s) => s.checkIn);
    assert.deepEqual(days, [...days].sort(), "in check-in order");
    assert.ok(inserted > 0);
  });

  it("refuses a forged, changed-filter, changed-order or other tenant's page token with INVALID_ARGUMENT on page_token", async () => {
    const guestId = newId("tokens");
    for (let n = 0; n < 5; n++) await book(guestId, n);
    const request = { guestId, orderBy: "check_in", pageSize: 2 };
    const { nextPageToken } = await bookings.listBookings(request, auth.staffA);
    assert.ok(nextPageToken);
    const flipped = nextPageToken.slice(0, 5) + (nextPageToken[5] === "A" ? "B" : "A") + nextPageToken.slice(6);
    // Each call is started only when its turn comes: a refusal nobody awaits yet would be an unhandled rejection.
    const refusals: Array<[string, () => Promise<unknown>]> = [
      ["forged", () => bookings.listBookings({ ...request, pageToken: flipped }, auth.staffA)],
      ["a character inserted", () => bookings.listBookings({ ...request, pageToken: `${nextPageToken.slice(0, 7)}*${nextPageToken.slice(7)}` }, auth.staffA)],
      ["changed filter", () => bookings.listBookings({ ...request, status: "booked", pageToken: nextPageToken }, auth.staffA)],
      ["changed order", () => bookings.listBookings({ ...request, orderBy: "check_in desc", pageToken: nextPageToken }, auth.staffA)],
      ["another tenant", () => bookings.listBookings({ ...request, pageToken: nextPageToken }, auth.staffB)],
      ["another collection", () => queries.find({ collection: "guest_stays", pageToken: nextPageToken }, auth.staffA)],
    ];
    for (const [what, call] of refusals) {
      const failure = await failing(call());
      assert.equal(failure.code, grpc.status.INVALID_ARGUMENT, `${what}: ${failure.message}`);
      assert.equal(failure.errorInfo?.reason, "INVALID_PAGE_TOKEN", what);
      assert.deepEqual(failure.badRequest?.fieldViolations.map((v) => v.field), ["page_token"], what);
    }
    assert.equal((await bookings.listBookings({ ...request, pageToken: nextPageToken }, auth.staffA)).bookings.length, 2, "the token itself still works");
  });

  it("QueryService Find refuses a forged, altered or other tenant's page token with INVALID_ARGUMENT on page_token", async () => {
    const guestId = newId("finder");
    for (let n = 0; n < 5; n++) await book(guestId, n);
    const request = { collection: "bookings", filter: { guestId }, orderBy: "checkIn", pageSize: 2 };
    const { nextPageToken, documents } = await queries.find(request, auth.staffA);
    assert.equal(documents.length, 2);
    assert.ok(nextPageToken);
    const [payload, mac] = nextPageToken.split(".");
    // The last character of the MAC carries 2 bits and 4 spare ones: its neighbour decodes to the same bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const refusals: Array<[string, () => Promise<unknown>]> = [
      ["forged keyset", () => queries.find({ ...request, pageToken: `${Buffer.from(JSON.stringify(["zzz", "2000-01-01"])).toString("base64url")}.${mac}` }, auth.staffA)],
      ["altered MAC", () => queries.find({ ...request, pageToken: `${payload}.${mac.slice(0, -1)}${alphabet[alphabet.indexOf(mac.at(-1)!) ^ 1]}` }, auth.staffA)],
      ["a character inserted", () => queries.find({ ...request, pageToken: `${payload}.${mac.slice(0, 4)}!${mac.slice(4)}` }, auth.staffA)],
      ["garbage", () => queries.find({ ...request, pageToken: "not-a-token" }, auth.staffA)],
      ["changed filter", () => queries.find({ ...request, filter: { guestId, status: "booked" }, pageToken: nextPageToken }, auth.staffA)],
      ["another tenant", () => queries.find({ ...request, pageToken: nextPageToken }, auth.staffB)],
    ];
    for (const [what, call] of refusals) {
      const failure = await failing(call());
      assert.equal(failure.code, grpc.status.INVALID_ARGUMENT, `${what}: ${failure.message}`);
      assert.equal(failure.errorInfo?.reason, "INVALID_PAGE_TOKEN", what);
      assert.deepEqual(failure.badRequest?.fieldViolations.map((v) => v.field), ["page_token"], what);
    }
    const next = await queries.find({ ...request, pageToken: nextPageToken }, auth.staffA);
    assert.equal(next.documents.length, 2, "the token itself still works");
    assert.equal(new Set([...documents, ...next.documents].map((d) => d.id)).size, 4);
  });

  it("min_position: a read waits for the position, then answers; past the deadline it is UNAVAILABLE naming the position reached", async () => {
    const guestId = newId("waiter");
    const first = await book(guestId, 1);
    // Read-your-writes on the inline model answers at once.
    const got = await bookings.getBooking({ bookingId: first.aggregateId, minPosition: first.globalPosition }, auth.staffA);
    assert.equal(got.guestId, guestId);
    // Waits for a position not written yet: the async guest_stays gets there once the booking below is made.
    const waiting = queries.fetch({ collection: "guest_stays", id: guestId, minPosition: first.globalPosition + 1n }, auth.staffA);
    let answered = false;
    void waiting.then(() => (answered = true), () => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(answered, false, "still waiting for a position not written");
    const second = await book(guestId, 2);
    // A booking writes RoomBooked, then its room's NightsReserved: the second ends two positions on.
    assert.equal(second.globalPosition, first.globalPosition + 2n);
    const stay = (await waiting).document!;
    assert.equal(stay.id, guestId);
    assert.equal(stay.data?.bookings, 2, JSON.stringify(stay.data));

    const short = grpcJsClient(QueryService, server.grpcAddress, { deadlineMs: 1500 });
    try {
      // UNAVAILABLE, not DEADLINE_EXCEEDED: the server gave up waiting within the client's deadline.
      const failure: GrpcFailure = await failing(short.fetch({ collection: "guest_stays", id: guestId, minPosition: 1_000_000n }, auth.staffA));
      assert.equal(failure.code, grpc.status.UNAVAILABLE, failure.message);
      assert.equal(failure.errorInfo?.reason, "NOT_CAUGHT_UP");
      assert.ok(Number(failure.errorInfo?.metadata.position) >= Number(second.globalPosition), JSON.stringify(failure.errorInfo?.metadata));
      assert.equal(failure.errorInfo?.metadata.minPosition, "1000000");
      assert.match(failure.message, new RegExp(`up to position ${failure.errorInfo?.metadata.position}, not yet 1000000`));
    } finally {
      short.close();
    }
  });

  it("ListBookings with min_position past the head waits for that write on the inline bookings; past the deadline, UNAVAILABLE naming the position reached", async () => {
    const guestId = newId("lister");
    const first = await book(guestId, 1);
    // The next booking's RoomBooked, written with its bookings document, is at the next position.
    const waiting = bookings.listBookings({ guestId, orderBy: "check_in", minPosition: first.globalPosition + 1n }, auth.staffA);
    let answered = false;
    void waiting.then(() => (answered = true), () => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(answered, false, "still waiting for a position not written");
    const second = await book(guestId, 2);
    assert.deepEqual((await waiting).bookings.map((b) => b.bookingId), [first.aggregateId, second.aggregateId]);

    const short = grpcJsClient(BookingService, server.grpcAddress, { deadlineMs: 1500 });
    try {
      const failure: GrpcFailure = await failing(short.listBookings({ guestId, minPosition: 1_000_000n }, auth.staffA));
      assert.equal(failure.code, grpc.status.UNAVAILABLE, failure.message);
      assert.equal(failure.errorInfo?.reason, "NOT_CAUGHT_UP");
      assert.equal(failure.errorInfo?.metadata.minPosition, "1000000");
      assert.ok(Number(failure.errorInfo?.metadata.position) >= Number(second.globalPosition), JSON.stringify(failure.errorInfo?.metadata));
      assert.match(failure.message, new RegExp(`read model bookings has applied events up to position ${failure.errorInfo?.metadata.position}, not yet 1000000`));
    } finally {
      short.close();
    }
  });

  it("scopes and tenants: a guest lists only their own bookings, the generic service needs bookings:read, tenants see only theirs", async () => {
    const mine = await book("alice", 3);
    await book(newId("someone"), 4);
    const own = await bookings.listBookings({ pageSize: 1000 }, auth.alice);
    assert.ok(own.bookings.length > 0 && own.bookings.every((b) => b.guestId === "alice"), JSON.stringify(own.bookings.map((b) => b.guestId)));
    assert.ok(own.bookings.some((b) => b.bookingId === mine.aggregateId));
    assert.equal((await failing(bookings.listBookings({ guestId: "bob" }, auth.alice))).code, grpc.status.PERMISSION_DENIED);
    assert.equal((await failing(queries.find({ collection: "bookings" }, auth.alice))).code, grpc.status.PERMISSION_DENIED);
    assert.equal((await failing(queries.listCollections({}))).code, grpc.status.UNAUTHENTICATED);
    assert.equal((await bookings.listBookings({ guestId: "alice" }, auth.staffB)).bookings.length, 0, "tenant B sees none of tenant A's");
    const elsewhere = await failing(queries.fetch({ collection: "bookings", id: mine.aggregateId }, auth.staffB));
    assert.equal(elsewhere.code, grpc.status.NOT_FOUND);
    assert.equal(elsewhere.errorInfo?.reason, "DOCUMENT_NOT_FOUND");
  });
});
