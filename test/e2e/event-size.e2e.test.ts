import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { largestReadableEvent } from "../../src/services/eventstore-v1/handlers.js";
import { failing, grpcJsClient, type GrpcJsClient } from "../support/grpc-client.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";

/** Small enough that a cancellation with a 500-character reason makes an event no read could return. */
const MAX_MESSAGE_BYTES = 5 * 1024;

describe("an event larger than a read can return", () => {
  let server: ServerProcess;
  let booking: GrpcJsClient<typeof BookingService>;
  let events: GrpcJsClient<typeof EventStoreService>;

  before(async () => {
    server = await startServerProcess({ MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) });
    booking = grpcJsClient(BookingService, server.grpcAddress);
    events = grpcJsClient(EventStoreService, server.grpcAddress);
  });
  after(async () => {
    booking?.close();
    events?.close();
    await server?.dispose();
  });

  it("is refused INVALID_ARGUMENT, EVENT_TOO_LARGE, with nothing written; a smaller one is written and read back", async () => {
    const bookingId = newId("B");
    await booking.bookRoom(bookRoomRequest(bookingId));
    const failure = await failing(booking.cancelBooking({ bookingId, reason: "r".repeat(500), requestId: newId("cancel") }));
    assert.equal(failure.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(failure.errorInfo?.reason, "EVENT_TOO_LARGE");
    assert.match(failure.message, new RegExp(`a BookingCancelled event of \\d+ characters, over the ${largestReadableEvent(MAX_MESSAGE_BYTES)} an event may hold`));
    assert.equal(failure.commandResult?.status, CommandStatus.INVALID);
    assert.equal(failure.badRequest, undefined, "no field to name: BadRequest would be empty");

    const stream = await events.readStream({ streamId: `booking-${bookingId}`, maxCount: 100 });
    assert.deepEqual(stream.events.map((e) => e.type), ["RoomBooked"], "nothing was written");

    const cancelled = await booking.cancelBooking({ bookingId, reason: "r".repeat(100), requestId: newId("cancel") });
    assert.equal(cancelled.status, CommandStatus.ACCEPTED);
    const all = await events.readAll({ maxCount: 100 });
    assert.ok(all.events.some((e) => e.type === "BookingCancelled" && e.streamId === `booking-${bookingId}`));
  });
});
