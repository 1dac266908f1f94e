import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { GetBookingRequestSchema, GetBookingResponseSchema, ListBookingsRequestSchema, ListBookingsResponseSchema } from "../../src/gen/booking/v1/booking_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { EdgeCall } from "../../src/edge/edge-service.js";
import { TRUSTED_LOCAL, type Identity } from "../../src/kernel/identity.js";
import { paymentIdsOf } from "../../src/services/booking-v1/booking-document.js";
import { bookingServiceV1 } from "../../src/services/booking-v1/handlers.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";

const callAs = (identity: Identity = TRUSTED_LOCAL): EdgeCall => ({ method: "/booking.v1.BookingService/ListBookings", identity, header: () => undefined, log: {}, signal: new AbortController().signal });
const guest = (userId: string): Identity => ({ userId, tenant: "default", scopes: ["bookings:own"], authenticated: true });

/** The ConnectError a call failed with. */
async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => assert.fail("the call should fail"),
    (e: unknown) => ConnectError.from(e),
  );
}

describe("booking.v1 ListBookings and GetBooking, from the bookings read model", async () => {
  const app = bookingApp();
  after(() => app.close());
  const service = bookingServiceV1(app, app.read);
  const list = async (fields: MessageInitShape<typeof ListBookingsRequestSchema>, identity?: Identity) =>
    create(ListBookingsResponseSchema, await service.impl.listBookings(create(ListBookingsRequestSchema, fields), callAs(identity)));
  const get = async (fields: MessageInitShape<typeof GetBookingRequestSchema>) => create(GetBookingResponseSchema, await service.impl.getBooking(create(GetBookingRequestSchema, fields), callAs()));
  const ids = async (fields: MessageInitShape<typeof ListBookingsRequestSchema>, identity?: Identity) => (await list(fields, identity)).bookings.map((b) => b.bookingId);

  const stays: Array<[string, string, string]> = [
    ["L1", "ann", "2026-06-05"],
    ["L2", "ann", "2026-06-01"],
    ["L3", "bob", "2026-06-03"],
    ["L4", "ann", "2026-06-03"],
    ["L5", "bob", "2026-06-09"],
  ];
  for (const [id, guestId, checkIn] of stays) await app.commands.bookRoom({ ...bookRoomPayload(id), guestId, checkIn, checkOut: "2026-06-12" });
  await app.commands.recordPayment(paymentPayload("L3", "P1", "300.00"));
  await app.commands.cancelBooking({ bookingId: "L5", reason: "plans changed" });

  it("filters by status, guest and check-in range, and orders by check-in or creation", async () => {
    assert.deepEqual(await ids({}), ["L1", "L2", "L3", "L4", "L5"], "by booking id by default");
    assert.deepEqual(await ids({ guestId: "ann", orderBy: "check_in" }), ["L2", "L4", "L1"]);
    assert.deepEqual(await ids({ guestId: "ann", orderBy: "check_in desc" }), ["L1", "L4", "L2"]);
    assert.deepEqual(await ids({ status: "fully_paid" }), ["L3"]);
    assert.deepEqual(await ids({ status: "cancelled" }), ["L5"]);
    assert.deepEqual(await ids({ checkInFrom: "2026-06-03", checkInBefore: "2026-06-09", orderBy: "check_in" }), ["L3", "L4", "L1"]);
    // The test clock is fixed, so every booking was made at the same instant: ties go by booking id.
    assert.deepEqual(await ids({ orderBy: "create_time" }), ["L1", "L2", "L3", "L4", "L5"]);
  });

  it("pages with AIP-158 tokens until the token is empty, each booking once", async () => {
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await list({ orderBy: "check_in", pageSize: 2, pageToken });
      seen.push(...page.bookings.map((b) => b.bookingId));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    assert.deepEqual(seen, ["L2", "L3", "L4", "L1", "L5"]);
    assert.equal(pages, 3);
  });

  it("carries the booking's amounts and times", async () => {
    const [paid] = (await list({ status: "fully_paid" })).bookings;
    assert.deepEqual([paid.price, paid.paid, paid.outstanding, paid.currency, paid.roomId, paid.checkOut], ["300.00", "300.00", "0.00", "EUR", paid.bookingId, "2026-06-12"]);
    assert.ok(paid.createTime && paid.updateTime);
  });

  it("refuses bad filters, order and page size naming each field, reading nothing", async () => {
    const bad = await refusal(list({ status: "paid", guestId: "x".repeat(65), checkInFrom: "2026-13-01", checkInBefore: "soon", pageSize: -1 }));
    assert.equal(bad.code, Code.InvalidArgument);
    assert.deepEqual(bad.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["status", "guest_id", "check_in_from", "check_in_before"]);
    const order = await refusal(list({ orderBy: "price" }));
    assert.deepEqual(order.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["order_by"]);
    assert.equal(order.findDetails(ErrorInfoSchema)[0].reason, "INVALID_ORDER");
    assert.match(order.rawMessage, /cannot order by "price"; it can be ordered by check_in, create_time/);
    const size = await refusal(list({ pageSize: -1 }));
    assert.deepEqual(size.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["page_size"]);
  });

  it("a token sent with another filter is INVALID_ARGUMENT on page_token", async () => {
    const { nextPageToken } = await list({ guestId: "ann", pageSize: 1 });
    const changed = await refusal(list({ guestId: "bob", pageSize: 1, pageToken: nextPageToken }));
    assert.equal(changed.code, Code.InvalidArgument);
    assert.equal(changed.findDetails(ErrorInfoSchema)[0].reason, "INVALID_PAGE_TOKEN");
    assert.deepEqual(changed.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["page_token"]);
  });

  it("a guest with bookings:own lists only their own bookings, and is refused another guest's", async () => {
    assert.deepEqual(await ids({}, guest("bob")), ["L3", "L5"]);
    assert.deepEqual(await ids({ guestId: "bob" }, guest("bob")), ["L3", "L5"]);
    const other = await refusal(list({ guestId: "ann" }, guest("bob")));
    assert.equal(other.code, Code.PermissionDenied);
    assert.match(other.rawMessage, /ListBookings with bookings:own is allowed only when the booking's guest is the caller/);
    assert.equal((await refusal(list({}, { tenant: "default", scopes: ["bookings:write"], authenticated: true }))).code, Code.PermissionDenied);
  });

  it("GetBooking answers from the read model in its old shape, at once for an inline model's position", async () => {
    const result = await app.commands.recordPayment(paymentPayload("L1", "P2", "100.00"));
    assert.equal(result.status, "accepted");
    const position = BigInt(result.status === "accepted" ? result.position : 0);
    const got = await get({ bookingId: "L1", minPosition: position });
    assert.deepEqual(
      [got.bookingId, got.status, got.guestId, got.checkIn, got.price, got.paid, got.outstanding, got.currency, got.paymentIds, got.revision],
      ["L1", "booked", "ann", "2026-06-05", "300.00", "100.00", "200.00", "EUR", ["P2"], 2n],
    );
    const missing = await refusal(get({ bookingId: "nope" }));
    assert.deepEqual([missing.code, missing.findDetails(ErrorInfoSchema)[0].reason], [Code.NotFound, "AGGREGATE_NOT_FOUND"]);
  });

  it("GetBooking answers every payment id in the order recorded, from the booking's events over several pages, while the booking's document stays the same size", async () => {
    await app.commands.bookRoom(bookRoomPayload("M1", "100000.00"));
    const documentSize = async () => JSON.stringify((await app.read.fetch("bookings", "M1", { tenant: "default" }))!.data).length;
    // Ids that sort otherwise than they were recorded: the order is the revisions'.
    const paymentIds = Array.from({ length: 1200 }, (_, i) => `P${(i * 7919) % 1200}`);
    let afterOne = 0;
    for (const [i, paymentId] of paymentIds.entries()) {
      assert.equal((await app.commands.recordPayment(paymentPayload("M1", paymentId, "1.00"))).status, "accepted");
      if (i === 0) afterOne = await documentSize();
    }
    const got = await get({ bookingId: "M1" });
    assert.deepEqual([got.paymentIds, got.revision, got.paid], [paymentIds, 1201n, "1200.00"]);
    // Only the digits of the count, amounts and revision grow; 1,200 ids would add ~7 KB.
    const afterAll = await documentSize();
    assert.ok(afterAll - afterOne <= 12, `the document was ${afterOne} characters after one payment and ${afterAll} after ${paymentIds.length}`);
  });

  it("lists a booking's payments up to the revision of the document read, not those recorded after it", async () => {
    await app.commands.bookRoom(bookRoomPayload("M2"));
    await app.commands.recordPayment(paymentPayload("M2", "Q1", "10.00"));
    const read = await app.read.fetch("bookings", "M2", { tenant: "default" });
    await app.commands.recordPayment(paymentPayload("M2", "Q2", "10.00"));
    assert.deepEqual(await paymentIdsOf(app.store, read!, "default"), ["Q1"]);
    assert.deepEqual(await paymentIdsOf(app.store, read!, "other"), [], "another tenant's payments");
    assert.deepEqual((await get({ bookingId: "M2" })).paymentIds, ["Q1", "Q2"]);
  });
});
