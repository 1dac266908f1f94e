import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { EventStoreService, ReadAllResponseSchema, ReadStreamResponseSchema } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import * as grpc from "@grpc/grpc-js";
import { failing, grpcJsClient, type GrpcJsClient } from "../support/grpc-client.js";
import { eventually } from "../support/eventually.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";

/** Small enough that a page of max_count events would not fit (~17 payment events), nor the booking's payment ids. */
const MAX_MESSAGE_BYTES = 8 * 1024;
const PAYMENTS = 150;
/** 60 characters each: 150 of them alone pass the limit. */
const paymentId = (i: number) => `payment-${i}-`.padEnd(60, "x");

describe("responses stay within the message size limit", () => {
  let server: ServerProcess;
  let booking: GrpcJsClient<typeof BookingService>;
  let events: GrpcJsClient<typeof EventStoreService>;
  const bookingId = newId("B");

  before(async () => {
    server = await startServerProcess({ MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) });
    booking = grpcJsClient(BookingService, server.grpcAddress);
    events = grpcJsClient(EventStoreService, server.grpcAddress);
    await booking.bookRoom(bookRoomRequest(bookingId));
    const paidAt = timestampFromDate(new Date("2026-01-15T10:00:00Z"));
    for (let i = 1; i <= PAYMENTS; i++) {
      await booking.recordPayment({ bookingId, paymentId: paymentId(i), amount: "1.00", currency: "EUR", paidAt, requestId: newId("r") });
    }
  });
  after(async () => {
    booking?.close();
    events?.close();
    await server?.dispose();
  });

  it("ReadStream returns what fits and the caller reads on from the last revision to the whole stream", async () => {
    const revisions: bigint[] = [];
    let pages = 0;
    let from = 1n;
    for (;;) {
      const page = await events.readStream({ streamId: `booking-${bookingId}`, fromRevision: from, maxCount: 10_000 });
      assert.ok(toBinary(ReadStreamResponseSchema, page).length <= MAX_MESSAGE_BYTES, "a page within the limit");
      assert.equal(page.streamRevision, BigInt(PAYMENTS + 1));
      if (page.events.length === 0) break;
      pages++;
      revisions.push(...page.events.map((e) => e.revision));
      from = page.events.at(-1)!.revision + 1n;
      if (from > page.streamRevision) break;
    }
    assert.ok(pages > 1, `the stream came in ${pages} page(s); the limit should have split it`);
    assert.deepEqual(revisions, Array.from({ length: PAYMENTS + 1 }, (_, i) => BigInt(i + 1)));
  });

  it("ReadAll returns what fits, and next_position leads through every event once", async () => {
    const positions: bigint[] = [];
    let pages = 0;
    let from = 1n;
    for (;;) {
      const page = await events.readAll({ fromPosition: from, maxCount: 10_000 });
      assert.ok(toBinary(ReadAllResponseSchema, page).length <= MAX_MESSAGE_BYTES, "a page within the limit");
      if (page.events.length === 0) {
        assert.equal(page.nextPosition, from);
        break;
      }
      pages++;
      positions.push(...page.events.map((e) => e.globalPosition));
      assert.equal(page.nextPosition, page.events.at(-1)!.globalPosition + 1n);
      from = page.nextPosition;
    }
    assert.ok(pages > 1, `ReadAll came in ${pages} page(s); the limit should have split it`);
    // The booking's RoomBooked and its room's NightsReserved, then the payments.
    assert.equal(positions.length, PAYMENTS + 2);
    assert.deepEqual(positions, [...positions].sort((a, b) => (a < b ? -1 : 1)));
    assert.equal(new Set(positions).size, positions.length);
  });

  it("a response that cannot be paged and passes the limit is RESOURCE_EXHAUSTED, logged as such", async () => {
    const failure = await failing(booking.getBooking({ bookingId }));
    assert.equal(failure.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(failure.errorInfo?.reason, "RESPONSE_TOO_LARGE");
    assert.match(failure.message, /over MAX_MESSAGE_BYTES \(8192\)/);
    const logged = () => server.logs.find((l) => String(l.method).endsWith("/GetBooking"));
    await eventually("the call's log line", async () => logged() !== undefined);
    assert.equal(logged()!.code, "ResourceExhausted");
  });
});
