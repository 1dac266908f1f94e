import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConnectError, Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { ReadAllRequestSchema, ReadStreamRequestSchema } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import type { EdgeCall } from "../../src/edge/edge-service.js";
import { DEFAULT_LIMITS } from "../../src/edge/limits.js";
import { TRUSTED_LOCAL } from "../../src/kernel/identity.js";
import { eventStoreServiceV1 } from "../../src/services/eventstore-v1/handlers.js";
import { bookingApp, bookRoomPayload } from "../support/booking-app.js";

const call: EdgeCall = { method: "/switchyard.eventstore.v1.EventStoreService/ReadAll", identity: TRUSTED_LOCAL, header: () => undefined, log: {}, signal: new AbortController().signal };

async function serviceWithBookings(count: number) {
  const app = bookingApp();
  for (let i = 1; i <= count; i++) assert.equal((await app.commands.bookRoom(bookRoomPayload(`B${i}`))).status, "accepted");
  return { app, service: eventStoreServiceV1({ store: app.store, feed: app.feed, readScopes: ["bookings:read"], limits: DEFAULT_LIMITS }) };
}

describe("EventStoreService reads that say something", () => {
  it("ReadAll with a filter that matches nothing moves next_position past what it scanned", async () => {
    const { app, service } = await serviceWithBookings(3);
    const page = await service.impl.readAll(create(ReadAllRequestSchema, { fromPosition: 1n, eventTypes: ["NoSuchEvent"] }), call);
    assert.deepEqual(page.events, []);
    // Three bookings, each a RoomBooked and its room's NightsReserved: positions 1 to 6.
    assert.equal(page.nextPosition, 7n);
    const unfiltered = await service.impl.readAll(create(ReadAllRequestSchema, { fromPosition: 1n, maxCount: 2 }), call);
    assert.equal(unfiltered.nextPosition, 3n, "a page cut by max_count goes on after its last event");
    const past = await service.impl.readAll(create(ReadAllRequestSchema, { fromPosition: 10n }), call);
    assert.equal(past.nextPosition, 10n, "a reader ahead of the head stays where it is");
    await app.close();
  });

  it("ReadStream of a stream that does not exist is NOT_FOUND, with a hint at stream ids", async () => {
    const { app, service } = await serviceWithBookings(1);
    await assert.rejects(service.impl.readStream(create(ReadStreamRequestSchema, { streamId: "B1" }), call), (error: unknown) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, Code.NotFound);
      assert.equal(error.findDetails(ErrorInfoSchema)[0]?.reason, "STREAM_NOT_FOUND");
      assert.match(error.rawMessage, /"booking-B1"/);
      return true;
    });
    const found = await service.impl.readStream(create(ReadStreamRequestSchema, { streamId: "booking-B1" }), call);
    assert.equal(found.streamRevision, 1n);
    await app.close();
  });
});
