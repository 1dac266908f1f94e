// Scheduled commands against real server processes: BookRoom's CancelUnpaidBooking with
// UNPAID_BOOKING_TTL, ScheduleCommand and ListScheduledCommands on the wire, and two
// processes on one SQLite file (and two replicas on one PostgreSQL database) racing for the
// same due schedules, each run once.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandService } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { ScheduledCommandState } from "../../src/gen/switchyard/command/v1/schedules_pb.js";
import { openStore } from "../../src/store/open-store.js";
import type { EventStore } from "../../src/store/event-store.js";
import { eventually } from "../support/eventually.js";
import { grpcJsClient } from "../support/grpc-client.js";
import { itOnPostgres } from "../support/postgres.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-schedules-e2e-"));
const servers: ServerProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.dispose()));
  rmSync(dir, { recursive: true, force: true });
});

const start = async (env: Record<string, string>) => {
  const server = await startServerProcess(env, 60_000);
  servers.push(server);
  return server;
};

describe("scheduled commands on a real server", () => {
  it("cancels an unpaid booking UNPAID_BOOKING_TTL after it was made, leaves a paid one, and shows both on ListScheduledCommands", async () => {
    // Long enough that the calls before the check below finish before the cancellation is due, on a loaded machine too.
    const server = await start({ UNPAID_BOOKING_TTL: "4s" });
    const booking = grpcJsClient(BookingService, server.grpcAddress);
    const commands = grpcJsClient(CommandService, server.grpcAddress);
    try {
      const unpaid = newId("B");
      const paid = newId("B");
      const bookedAt = Date.now();
      await booking.bookRoom(bookRoomRequest(unpaid));
      await booking.bookRoom(bookRoomRequest(paid));
      await booking.recordPayment({ bookingId: paid, paymentId: "P1", amount: "300.00", currency: "EUR", paidAt: timestampFromDate(new Date()), requestId: newId("pay") });
      assert.equal((await booking.getBooking({ bookingId: unpaid })).status, "booked");
      await eventually("the unpaid booking is cancelled", async () => (await booking.getBooking({ bookingId: unpaid })).status === "cancelled", 10_000);
      const cancelledAfter = Date.now() - bookedAt;
      assert.ok(cancelledAfter >= 4000, `cancelled ${cancelledAfter} ms after booking, not before its time`);
      // Paid in full, and maybe confirmed already by the confirm-paid-bookings reaction; not cancelled.
      assert.match((await booking.getBooking({ bookingId: paid })).status, /^(fully_paid|confirmed)$/);

      const listed = await commands.listScheduledCommands({ pageSize: 10 });
      const byBooking = new Map(listed.scheduledCommands.map((s) => [s.aggregateId, s]));
      assert.equal(byBooking.get(unpaid)?.commandType, "booking.CancelUnpaidBooking");
      await eventually("the paid booking's schedule is settled", async () => {
        const page = await commands.listScheduledCommands({ pageSize: 10 });
        return page.scheduledCommands.every((s) => s.state === ScheduledCommandState.DONE);
      });

      // From the wire: a command scheduled with a delay runs then.
      const later = newId("B");
      await booking.bookRoom(bookRoomRequest(later));
      const scheduled = await commands.scheduleCommand({ commandType: "booking.CancelBooking", aggregateId: later, payload: { reason: "plans changed" }, requestId: newId("s"), when: { case: "delay", value: durationFromMs(500) } });
      assert.equal(scheduled.state, ScheduledCommandState.PENDING);
      await eventually("the scheduled cancel ran", async () => (await booking.getBooking({ bookingId: later })).status === "cancelled", 5000);
    } finally {
      booking.close();
      commands.close();
    }
  });

  it("two processes on one SQLite file run each due schedule once", async () => {
    const path = join(dir, "race.db");
    await race({ DATABASE_URL: `file:${path}` }, () => openStore({ DATABASE_URL: `file:${path}`, DATABASE_POOL_SIZE: 2, SQLITE_SYNCHRONOUS: "FULL", REQUEST_RETENTION_S: 0 }));
  });
});

itOnPostgres("two replicas on one PostgreSQL database run each due schedule once", "schedule_race", (url) =>
  race({ DATABASE_URL: url }, () => openStore({ DATABASE_URL: url, DATABASE_POOL_SIZE: 2, SQLITE_SYNCHRONOUS: "FULL", REQUEST_RETENTION_S: 0 })),
);

/**
 * Books through one of two processes on one database, each booking's CancelUnpaidBooking due
 * a few seconds later while both run, and checks each booking was cancelled once and each
 * schedule claimed once.
 */
async function race(env: Record<string, string>, open: () => Promise<EventStore>): Promise<void> {
  const shared = { ...env, UNPAID_BOOKING_TTL: "3s", LOG_LEVEL: "debug" };
  const [a, b] = await Promise.all([start(shared), start(shared)]);
  const clients = [a, b].map((s) => grpcJsClient(BookingService, s.grpcAddress));
  const ids = Array.from({ length: 24 }, () => newId("R"));
  try {
    await Promise.all(ids.map((id, i) => clients[i % 2].bookRoom(bookRoomRequest(id))));
    await eventually("every booking is cancelled", async () => (await Promise.all(ids.map((id) => clients[0].getBooking({ bookingId: id })))).every((s) => s.status === "cancelled"), 20_000);
  } finally {
    for (const c of clients) c.close();
  }
  const store = await open();
  try {
    for (const id of ids) {
      const events = await store.readStream("default", `booking-${id}`);
      assert.deepEqual(events.map((e) => e.type), ["RoomBooked", "BookingCancelled"], `booking ${id}`);
    }
    const schedules = await store.schedules!.list("default", { statuses: ["done", "pending", "rejected", "dead"], limit: 1000 });
    const ours = schedules.filter((s) => ids.includes(s.aggregateId));
    assert.equal(ours.length, ids.length);
    assert.deepEqual(ours.filter((s) => s.status !== "done" || s.attempts !== 1).map((s) => [s.aggregateId, s.status, s.attempts]), [], "each run once");
  } finally {
    await store.close();
  }
  const ranBy = [a, b].map((s) => s.logs.filter((l) => l.msg === "scheduled command ran").length);
  assert.equal(ranBy[0] + ranBy[1], ids.length, `runs per process: ${ranBy.join(", ")}`);
}
