// A SIGKILL while BookRoom commands append to a booking and to a room other bookings of
// that room append to as well: after a restart on the same SQLite file (and, as a second
// case, the same PostgreSQL database), every booking has both its RoomBooked and its room's
// NightsReserved or neither, no room holds two stays sharing a night, and retrying every
// booking with its request id settles each one exactly once.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import type { CommandResult } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { auditStore, clientsFor, launch, pool, readDatabase, readPostgres, type Clients, type Stored, scratch } from "../fixtures/reliability-harness.js";
import type { GrpcFailure } from "../support/grpc-client.js";
import { itOnPostgres } from "../support/postgres.js";
import { reliabilityRow } from "../support/reliability.js";

const { dir, running } = scratch("switchyard-room-crash-");

const IN_FLIGHT = 32;
const ROOMS = 4;
/** Acknowledged bookings before the kill, so that it falls among appends of BookRoom. */
const ACKED_BEFORE_KILL = 24;

/** The day `offset` days after 2031-03-01, as YYYY-MM-DD. */
const day = (offset: number) => new Date(Date.UTC(2031, 2, 1) + offset * 86_400_000).toISOString().slice(0, 10);

/** One BookRoom sent during the load, with its first answer and the answer to its retry. */
interface Booking {
  readonly bookingId: string;
  readonly requestId: string;
  readonly roomId: string;
  readonly checkIn: string;
  readonly checkOut: string;
  ack?: CommandResult;
  failure?: GrpcFailure;
  retried?: CommandResult;
  retryFailure?: GrpcFailure;
}

/**
 * The n-th booking: one night in room n % ROOMS, each on a night of its own in its room,
 * except every fifth, which stays three nights and so meets the next two bookings of its
 * room: whichever commits first wins, the others are ROOM_UNAVAILABLE.
 */
function bookingOf(n: number): Booking {
  const slot = Math.floor(n / ROOMS);
  const nights = slot % 5 === 0 ? 3 : 1;
  return { bookingId: `rc-${n}`, requestId: `book-rc-${n}`, roomId: `room-crash-${n % ROOMS}`, checkIn: day(slot), checkOut: day(slot + nights) };
}

async function send(clients: Clients, b: Booking): Promise<CommandResult> {
  const { bookingId, roomId, checkIn, checkOut, requestId } = b;
  return clients.booking.bookRoom({ bookingId, roomId, guestId: "G1", checkIn, checkOut, price: "100.00", currency: "EUR", requestId }, { deadlineMs: 10_000 });
}

const refused = (failure: GrpcFailure | undefined) => failure?.errorInfo?.reason === "ROOM_UNAVAILABLE";

it("SIGKILL during BookRoom appends over shared rooms leaves each booking's two streams both written or neither", async (t) => {
  const path = join(dir, "rooms.db");
  await killDuringBookings(t, { name: "SQLite", env: { DATABASE_URL: `file:${path}`, SQLITE_SYNCHRONOUS: "FULL" }, read: async () => readDatabase(path) });
});

itOnPostgres("SIGKILL during BookRoom appends over shared rooms on PostgreSQL leaves each booking's two streams both written or neither", "room_crash", (url, t) =>
  killDuringBookings(t, { name: "PostgreSQL", env: { DATABASE_URL: url }, read: () => readPostgres(url) }),
);

async function killDuringBookings(t: TestContext, store: { name: string; env: Record<string, string>; read(): Promise<Stored> }): Promise<void> {
  let server = launch(store.env);
  running.push(server);
  const clients = clientsFor((await server.listening).grpcAddress);
  const sent: Booking[] = [];
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const b = bookingOf(sent.length);
      sent.push(b);
      try {
        b.ack = await send(clients, b);
      } catch (error) {
        if (!(error as GrpcFailure).code) throw error;
        b.failure = error as GrpcFailure;
      }
    }
  };
  const load = Array.from({ length: IN_FLIGHT }, worker);
  // Kill once bookings are being acknowledged, so that it falls among BookRoom appends in
  // flight (on a slow machine the load may take a while to get going).
  const acked = () => sent.filter((b) => b.ack).length;
  for (const until = Date.now() + 30_000; acked() < ACKED_BEFORE_KILL && Date.now() < until && server.child.exitCode === null; ) await sleep(5);
  stop = true;
  assert.equal(await server.kill("SIGKILL"), "SIGKILL", `the server exited before the kill: ${server.stderr()}`);
  await Promise.all(load);
  clients.close();
  assert.ok(acked() > 0, "bookings were acknowledged before the kill");

  // A call fails only when the kill cut it (UNAVAILABLE), when its room was taken, or when
  // the room kept moving on under it past the server's retries (ABORTED, nothing written).
  const cut = sent.filter((b) => b.failure?.code === grpc.status.UNAVAILABLE);
  const unexpected = sent.filter((b) => b.failure && !refused(b.failure) && b.failure.code !== grpc.status.UNAVAILABLE && b.failure.code !== grpc.status.ABORTED);
  const aborted = sent.filter((b) => b.failure?.code === grpc.status.ABORTED);

  server = launch(store.env);
  running.push(server);
  const address = (await server.listening).grpcAddress;
  const before = await store.read();
  const problems = unexpected.map((b) => `${b.requestId}: ${grpc.status[b.failure!.code]} ${b.failure!.message}`);
  problems.push(...[...auditStore(before), ...bookingProblems(before, sent)].map((p) => `after the kill: ${p}`));
  const committedUnacked = cut.filter((b) => before.requests.has(b.requestId)).length;
  problems.push(...aborted.filter((b) => before.requests.has(b.requestId)).map((b) => `${b.requestId}: ABORTED, yet recorded`));

  // Every booking again with its request id: the acknowledged ones and those that had
  // committed are replayed, the others decided now.
  const retry = clientsFor(address);
  await pool(sent, 16, async (b) => {
    try {
      b.retried = await send(retry, b);
    } catch (error) {
      if (!(error as GrpcFailure).code) throw error;
      b.retryFailure = error as GrpcFailure;
    }
  });
  retry.close();
  for (const b of sent) {
    const committed = before.requests.get(b.requestId);
    if (b.retryFailure && !refused(b.retryFailure)) problems.push(`retry of ${b.requestId}: ${grpc.status[b.retryFailure.code]} ${b.retryFailure.message}`);
    if (b.ack && !(b.retried?.replayed && b.retried.commandId === b.ack.commandId)) problems.push(`retry of ${b.requestId}: acknowledged, but not replayed`);
    if (refused(b.failure) && !(refused(b.retryFailure) && b.retryFailure!.commandResult?.replayed)) problems.push(`retry of ${b.requestId}: refused, but not replayed as refused`);
    if (committed && !(b.retried?.replayed || b.retryFailure?.commandResult?.replayed)) problems.push(`retry of ${b.requestId}: had committed, but ran again`);
  }
  const final = await store.read();
  problems.push(...[...auditStore(final), ...bookingProblems(final, sent, true)].map((p) => `after the retries: ${p}`));

  const accepted = sent.filter((b) => b.retried).length;
  t.diagnostic(`${sent.length} bookings sent over ${ROOMS} rooms, ${sent.filter((b) => b.ack).length} acknowledged, ${cut.length} cut by the kill (${committedUnacked} had committed), ${aborted.length} ABORTED; after the retries ${accepted} accepted, ${sent.length - accepted} ROOM_UNAVAILABLE`);
  t.diagnostic(
    reliabilityRow({
      scenario: `SIGKILL during BookRoom over shared rooms, restart (${IN_FLIGHT} in flight, ${store.name})`,
      callsTried: sent.length * 2,
      failures: problems.length,
      dataLost: 0,
      note: `${cut.length} cut by the kill, ${committedUnacked} of them committed`,
    }),
  );
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problem(s)`);
  assert.ok(cut.length > 0, "the kill cut bookings in flight");
  await server.kill("SIGTERM");
}

/**
 * For every booking sent: its RoomBooked and its room's NightsReserved are both stored or
 * neither, as its answer says; no room holds two stays sharing a night. With `settled`,
 * every booking has been answered (after its retry).
 */
function bookingProblems(stored: Stored, sent: readonly Booking[], settled = false): string[] {
  const problems: string[] = [];
  const booked = new Set(stored.events.filter((e) => e.type === "RoomBooked").map((e) => String(e.data.bookingId)));
  const reserved = stored.events.filter((e) => e.type === "NightsReserved");
  for (const b of sent) {
    const own = stored.events.filter((e) => e.streamId === `booking-${b.bookingId}`).map((e) => e.type);
    const nights = reserved.filter((e) => e.data.bookingId === b.bookingId);
    const inRoom = nights.filter((e) => e.streamId === `room-${b.roomId}` && e.data.checkIn === b.checkIn && e.data.checkOut === b.checkOut);
    if (own.length > 1 || nights.length > 1 || nights.length !== inRoom.length) problems.push(`${b.bookingId}: booking holds [${own}], ${nights.length} NightsReserved (${inRoom.length} on its room)`);
    else if (booked.has(b.bookingId) !== (inRoom.length === 1)) problems.push(`${b.bookingId}: RoomBooked ${booked.has(b.bookingId) ? "stored" : "missing"} but its room's NightsReserved ${inRoom.length === 1 ? "stored" : "missing"}`);
    const answer = b.retried ?? b.ack;
    const refusal = refused(b.retryFailure) || refused(b.failure);
    if ((b.ack || (settled && b.retried)) && !booked.has(b.bookingId)) problems.push(`${b.bookingId}: accepted (${answer?.commandId}) but not stored`);
    if ((refused(b.failure) || (settled && refusal)) && booked.has(b.bookingId)) problems.push(`${b.bookingId}: ROOM_UNAVAILABLE but stored`);
    if (settled && !b.retried && !refusal) problems.push(`${b.bookingId}: never answered`);
  }
  const rooms = new Map<string, Array<{ bookingId: string; checkIn: string; checkOut: string }>>();
  for (const e of reserved) {
    const stays = rooms.get(e.streamId) ?? [];
    stays.push({ bookingId: String(e.data.bookingId), checkIn: String(e.data.checkIn), checkOut: String(e.data.checkOut) });
    rooms.set(e.streamId, stays);
  }
  for (const [room, stays] of rooms) {
    stays.sort((a, b) => a.checkIn.localeCompare(b.checkIn));
    for (let i = 1; i < stays.length; i++) {
      if (stays[i].checkIn < stays[i - 1].checkOut) problems.push(`${room}: ${stays[i - 1].bookingId} and ${stays[i].bookingId} share a night`);
    }
  }
  return problems;
}
