// A room is never booked twice for a night: BookRoom decides over the booking and the
// room's stream in one guarded append. Two server processes on one SQLite file, and two
// replicas on one PostgreSQL database, take 64 concurrent bookings of one room.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";
import { failing, grpcJsClient, type GrpcFailure } from "../support/grpc-client.js";
import { itOnPostgres } from "../support/postgres.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const CALLS = 64;
const dir = mkdtempSync(join(tmpdir(), "switchyard-rooms-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The day `offset` days after 2030-07-01, as YYYY-MM-DD. */
const day = (offset: number) => new Date(Date.UTC(2030, 6, 1) + offset * 86_400_000).toISOString().slice(0, 10);

it("two servers on one SQLite file: one of 64 overlapping bookings of a room is accepted, non-overlapping ones all are", async () => {
  const path = join(dir, "rooms.db");
  await twoWriters({ DATABASE_URL: `file:${path}` });
});

itOnPostgres("two replicas on one PostgreSQL database: one of 64 overlapping bookings of a room is accepted, non-overlapping ones all are", "rooms", (url) =>
  twoWriters({ DATABASE_URL: url }),
);

it("a BookRoom's request id sent again answers its first result, even once the room has changed, and writes nothing", async () => {
  const server = await startServerProcess({ DATABASE_URL: `file:${join(dir, "replay.db")}` });
  const booking = grpcJsClient(BookingService, server.grpcAddress);
  const events = grpcJsClient(EventStoreService, server.grpcAddress);
  const streamTypes = (streamId: string) =>
    events.readStream({ streamId }).then(
      (stream) => stream.events.map((e) => e.type),
      (error: GrpcFailure) => (error.code === grpc.status.NOT_FOUND ? [] : Promise.reject(error)),
    );
  try {
    const room = newId("R");
    const first = { ...bookRoomRequest(newId("B")), roomId: room, checkIn: day(0), checkOut: day(3) };
    const second = { ...bookRoomRequest(newId("B")), roomId: room, checkIn: day(1), checkOut: day(2) };
    const booked = await booking.bookRoom(first);
    assert.deepEqual([booked.status, booked.replayed], [CommandStatus.ACCEPTED, false]);
    assert.deepEqual(booked.events.map((e) => e.type), ["RoomBooked", "NightsReserved"]);
    const refused = await failing(booking.bookRoom(second));
    assert.equal(refused.errorInfo?.reason, "ROOM_UNAVAILABLE");
    assert.equal(refused.commandResult?.replayed, false);

    // The first booking is cancelled: its nights are free again, so deciding either booking
    // afresh would now answer differently.
    const cancelled = await booking.cancelBooking({ bookingId: first.bookingId, reason: "plans changed", requestId: newId("cancel") });
    assert.deepEqual(cancelled.events.map((e) => e.type), ["BookingCancelled", "NightsReleased"]);

    const bookedAgain = await booking.bookRoom(first);
    assert.equal(bookedAgain.replayed, true);
    assert.deepEqual({ ...bookedAgain, replayed: false }, booked, "the acceptance, as first answered");
    const refusedAgain = await failing(booking.bookRoom(second));
    assert.equal(refusedAgain.errorInfo?.reason, "ROOM_UNAVAILABLE");
    assert.equal(refusedAgain.message, refused.message);
    assert.equal(refusedAgain.commandResult?.replayed, true);
    assert.equal(refusedAgain.commandResult?.commandId, refused.commandResult?.commandId);

    // Neither replay wrote an event, on the bookings or on the room.
    assert.deepEqual((await events.readAll({ fromPosition: cancelled.globalPosition + 1n })).events, []);
    assert.deepEqual(await streamTypes(`booking-${first.bookingId}`), ["RoomBooked", "BookingCancelled"]);
    assert.deepEqual(await streamTypes(`room-${room}`), ["NightsReserved", "NightsReleased"]);
    assert.deepEqual(await streamTypes(`booking-${second.bookingId}`), []);

    // The same stay under a new request id is decided afresh: the nights are free now.
    const rebooked = await booking.bookRoom({ ...second, requestId: newId("book") });
    assert.deepEqual([rebooked.status, rebooked.replayed], [CommandStatus.ACCEPTED, false]);
  } finally {
    for (const client of [booking, events]) client.close();
    await server.dispose();
  }
});

async function twoWriters(env: Record<string, string>): Promise<void> {
  const servers: ServerProcess[] = [await startServerProcess(env)];
  servers.push(await startServerProcess(env));
  const bookings = servers.map((s) => grpcJsClient(BookingService, s.grpcAddress));
  const events = grpcJsClient(EventStoreService, servers[1].grpcAddress);
  try {
    /** Books through both servers at once; a call ABORTED after the server's retries (it wrote nothing) is sent again with its request id. */
    const book = async (i: number, request: ReturnType<typeof bookRoomRequest>) => {
      for (let sent = 0; ; sent++) {
        try {
          return { request, result: await bookings[i % 2].bookRoom(request) };
        } catch (error) {
          const failure = error as GrpcFailure;
          if (failure.code === grpc.status.ABORTED && sent < 20) continue;
          return { request, failure };
        }
      }
    };

    // Stays of three nights starting on day 0, 1 or 2: every two of them share a night.
    const room = newId("R");
    const overlapping = await Promise.all(
      Array.from({ length: CALLS }, (_, i) => book(i, { ...bookRoomRequest(newId("B")), roomId: room, checkIn: day(i % 3), checkOut: day((i % 3) + 3) })),
    );
    const accepted = overlapping.filter((o) => o.result?.status === CommandStatus.ACCEPTED);
    assert.equal(accepted.length, 1, "exactly one booking of the room is accepted");
    const refused = overlapping.filter((o) => o.failure);
    assert.equal(refused.length, CALLS - 1);
    const winner = accepted[0];
    for (const { failure } of refused) {
      assert.equal(failure!.errorInfo?.reason, "ROOM_UNAVAILABLE", failure!.message);
      assert.match(failure!.message, new RegExp(`room ${room} is booked by booking ${winner.request.bookingId} for the nights 2030-07-0`));
    }
    // Nothing half-written: the room holds the winner's nights, and only the winner's booking exists.
    const roomStream = await events.readStream({ streamId: `room-${room}` });
    assert.deepEqual(roomStream.events.map((e) => [e.type, (e.data as { bookingId: string }).bookingId]), [["NightsReserved", winner.request.bookingId]]);
    for (const { request } of overlapping) {
      const written = await events.readStream({ streamId: `booking-${request.bookingId}` }).then(
        (stream) => stream.events.length,
        (error: GrpcFailure) => (error.code === grpc.status.NOT_FOUND ? 0 : Promise.reject(error)),
      );
      assert.equal(written, request === winner.request ? 1 : 0, `booking-${request.bookingId}`);
    }
    // The booking's and the room's events are one command's: consecutive positions, listed in its result.
    const result = winner.result!;
    assert.deepEqual(result.events.map((e) => e.type), ["RoomBooked", "NightsReserved"]);
    assert.equal(result.events[1].globalPosition, result.events[0].globalPosition + 1n);
    assert.equal(roomStream.events[0].globalPosition, result.events[1].globalPosition);

    // Its request id sent again, to the other server: the original result, replayed.
    const again = await bookings[1].bookRoom(winner.request);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.events, result.events);
    assert.equal(again.commandId, result.commandId);
    assert.equal((await events.readStream({ streamId: `room-${room}` })).events.length, 1, "the replay reserved nothing more");
    assert.equal((await events.readStream({ streamId: `booking-${winner.request.bookingId}` })).events.length, 1, "the replay booked nothing more");

    // One night each: every booking is accepted, and the room holds every night once.
    const other = newId("R");
    const apart = await Promise.all(
      Array.from({ length: CALLS }, (_, i) => book(i, { ...bookRoomRequest(newId("B")), roomId: other, checkIn: day(i), checkOut: day(i + 1) })),
    );
    assert.deepEqual(
      apart.map((o) => o.failure?.message ?? o.result!.status),
      Array(CALLS).fill(CommandStatus.ACCEPTED),
    );
    const nights = await events.readStream({ streamId: `room-${other}` });
    assert.deepEqual(nights.events.map((e) => Number(e.revision)), Array.from({ length: CALLS }, (_, i) => i + 1));
    assert.deepEqual(new Set(nights.events.map((e) => (e.data as { checkIn: string }).checkIn)).size, CALLS);
    // Each of them whole: its booking's RoomBooked beside its room's NightsReserved.
    for (const { request, result } of apart) {
      const own = await events.readStream({ streamId: `booking-${request.bookingId}` });
      assert.deepEqual(own.events.map((e) => e.type), ["RoomBooked"], `booking-${request.bookingId}`);
      const reserved = nights.events.find((e) => (e.data as { bookingId: string }).bookingId === request.bookingId);
      assert.equal(reserved?.globalPosition, own.events[0].globalPosition + 1n, `booking-${request.bookingId}'s nights`);
      assert.deepEqual(result!.events.map((e) => e.globalPosition), [own.events[0].globalPosition, reserved!.globalPosition]);
    }
  } finally {
    for (const client of [...bookings, events]) client.close();
    await Promise.all(servers.map((s) => s.dispose()));
  }
}
