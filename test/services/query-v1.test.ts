import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import pino from "pino";
import { BadRequestSchema, ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { QueryService } from "../../src/gen/switchyard/query/v1/query_pb.js";
import { createCallLifecycle } from "../../src/edge/call-lifecycle.js";
import { connectRoutes } from "../../src/edge/connect-routes.js";
import { createDrain } from "../../src/edge/drain.js";
import { TRUSTED_LOCAL, type Identity } from "../../src/kernel/identity.js";
import { edgeServices } from "../../src/services/index.js";
import { bookingProjections } from "../../src/domain/booking/index.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";

/** The service's own routes, lifecycle and error mapping, in memory: no sockets. */
function inMemory(identity: Identity = TRUSTED_LOCAL) {
  const app = bookingApp({ projections: bookingProjections });
  const lifecycle = createCallLifecycle({ authenticate: async () => identity, drain: createDrain(), logger: pino({ level: "silent" }), maxDeadlineMs: 5_000 });
  const transport = createRouterTransport(connectRoutes({ services: edgeServices(app), lifecycle }));
  return { app, queries: createClient(QueryService, transport), bookings: createClient(BookingService, transport) };
}

/** The ConnectError a call failed with. */
async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => assert.fail("the call should fail"),
    (e: unknown) => ConnectError.from(e),
  );
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;
const fieldsOf = (error: ConnectError) => error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field);

describe("switchyard.query.v1 QueryService, in memory", () => {
  const { app, queries } = inMemory();
  after(() => app.close());

  it("lists the registered collections with their declared fields", async () => {
    const { collections } = await queries.listCollections({});
    assert.deepEqual(collections.map((c) => c.name), ["bookings", "guest_stays"]);
    assert.equal(collections.find((c) => c.name === "bookings")?.fields.checkIn, "string");
    assert.equal(collections.find((c) => c.name === "guest_stays")?.fields.bookings, "number");
  });

  it("fetches a document as a Struct, and pages through a filtered, ordered find", async () => {
    for (const [id, checkIn] of [["F1", "2026-06-03"], ["F2", "2026-06-01"], ["F3", "2026-06-02"]]) {
      await app.commands.bookRoom({ ...bookRoomPayload(id), guestId: "finder", checkIn, checkOut: "2026-06-10" });
    }
    const paid = await app.commands.recordPayment(paymentPayload("F1", "P1"));
    assert.equal(paid.status, "accepted");
    const { document } = await queries.fetch({ collection: "bookings", id: "F1", minPosition: BigInt(paid.status === "accepted" ? paid.position : 0) });
    assert.equal(document?.id, "F1");
    assert.equal(document?.data?.guestId, "finder");
    assert.equal(document?.data?.paidMinor, 10000);
    const ids: string[] = [];
    let pageToken = "";
    do {
      const page = await queries.find({ collection: "bookings", filter: { guestId: "finder" }, orderBy: "checkIn desc", pageSize: 2, pageToken });
      ids.push(...page.documents.map((d) => d.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.deepEqual(ids, ["F1", "F3", "F2"]);
    const ranged = await queries.find({ collection: "bookings", filter: { guestId: "finder", checkIn: { gte: "2026-06-02", lt: "2026-06-03" } } });
    assert.deepEqual(ranged.documents.map((d) => d.id), ["F3"]);
  });

  it("maps refusals to gRPC codes with ErrorInfo and the request field", async () => {
    const undeclared = await refusal(queries.find({ collection: "bookings", filter: { nights: 3 } }));
    assert.deepEqual([undeclared.code, reasonOf(undeclared), fieldsOf(undeclared)], [Code.InvalidArgument, "INVALID_FILTER", ["filter.nights"]]);
    const long = await refusal(queries.find({ collection: "bookings", filter: { ["a".repeat(100_000)]: 1 } }));
    assert.deepEqual([long.code, reasonOf(long), fieldsOf(long)], [Code.InvalidArgument, "INVALID_FILTER", [`filter.${"a".repeat(64)}`]], "a long name is clipped, so the error fits a trailer");
    assert.ok(long.rawMessage.length < 500, `the message is ${long.rawMessage.length} characters`);
    const shape = await refusal(queries.find({ collection: "bookings", filter: { status: null } }));
    assert.deepEqual([shape.code, reasonOf(shape), fieldsOf(shape)], [Code.InvalidArgument, "INVALID_FILTER", ["filter.status"]]);
    // An empty condition would match every document: refused, not read as no condition.
    const empty = await refusal(queries.find({ collection: "bookings", filter: { status: {} } }));
    assert.deepEqual([empty.code, reasonOf(empty), fieldsOf(empty)], [Code.InvalidArgument, "INVALID_FILTER", ["filter.status"]]);
    const order = await refusal(queries.find({ collection: "bookings", orderBy: "nights" }));
    assert.deepEqual([order.code, reasonOf(order), fieldsOf(order)], [Code.InvalidArgument, "INVALID_ORDER", ["order_by"]]);
    const token = await refusal(queries.find({ collection: "bookings", pageToken: "not-a-token" }));
    assert.deepEqual([token.code, reasonOf(token), fieldsOf(token)], [Code.InvalidArgument, "INVALID_PAGE_TOKEN", ["page_token"]]);
    const unknown = await refusal(queries.fetch({ collection: "rooms", id: "x" }));
    assert.deepEqual([unknown.code, reasonOf(unknown)], [Code.NotFound, "UNKNOWN_COLLECTION"]);
    const missing = await refusal(queries.fetch({ collection: "bookings", id: "nobody" }));
    assert.deepEqual([missing.code, reasonOf(missing)], [Code.NotFound, "DOCUMENT_NOT_FOUND"]);
    const nameless = await refusal(queries.fetch({ collection: "", id: "x" }));
    assert.deepEqual(fieldsOf(nameless), ["collection"]);
  });

  it("a read waits for min_position; one not reached answers UNAVAILABLE within the call's timeout, naming the position reached", async () => {
    const booked = await app.commands.bookRoom({ ...bookRoomPayload("W1"), guestId: "waiter" });
    assert.equal(booked.status, "accepted");
    const head = await app.store.headPosition();
    // The async guest_stays is followed by a runner: the read waits until it has applied the booking.
    const { document } = await queries.fetch({ collection: "guest_stays", id: "waiter", minPosition: BigInt(head) }, { timeoutMs: 5_000 });
    assert.equal(document?.data?.bookings, 1);
    const found = await queries.find({ collection: "guest_stays", filter: { bookings: { gte: 1 } }, minPosition: BigInt(head) }, { timeoutMs: 5_000 });
    assert.ok(found.documents.some((d) => d.id === "waiter"));
    // Nothing is written meanwhile, so the position the refusal names is that head. Had the
    // service answered past the call's timeout, the client would see DEADLINE_EXCEEDED instead.
    for (const call of [
      () => queries.fetch({ collection: "guest_stays", id: "waiter", minPosition: 1_000_000n }, { timeoutMs: 1_000 }),
      () => queries.find({ collection: "guest_stays", minPosition: 1_000_000n }, { timeoutMs: 1_000 }),
    ]) {
      const behind = await refusal(call());
      assert.deepEqual([behind.code, reasonOf(behind)], [Code.Unavailable, "NOT_CAUGHT_UP"], behind.message);
      assert.deepEqual(behind.findDetails(ErrorInfoSchema)[0].metadata, { minPosition: "1000000", position: String(head) });
      assert.match(behind.rawMessage, new RegExp(`up to position ${head}, not yet 1000000`));
    }
  });
});

describe("QueryService scopes", () => {
  it("needs bookings:read: a guest's bookings:own is not enough, and no credentials is UNAUTHENTICATED", async () => {
    const guest = inMemory({ userId: "guest-1", tenant: "default", scopes: ["bookings:own"], authenticated: true });
    const denied = await refusal(guest.queries.find({ collection: "bookings" }));
    assert.equal(denied.code, Code.PermissionDenied);
    const anonymous = inMemory({ tenant: "default", scopes: [], authenticated: false });
    assert.equal((await refusal(anonymous.queries.listCollections({}))).code, Code.Unauthenticated);
    await Promise.all([guest.app.close(), anonymous.app.close()]);
  });
});
