// Scheduled-command lateness in `npm run bench` (and alone: `npm run bench:schedules`): how
// late due scheduled commands start while the same process runs commands at full speed. In
// process on a SQLite file (synchronous=FULL): 64 RecordPayment commands in flight for
// BENCH_SECONDS, and meanwhile BENCH_SCHEDULES_PER_SEC schedules (RecordPayment, due 0.5 s
// after they are made) added through the schedule store, as ScheduleCommand adds them.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { bookingCommands } from "../src/domain/booking/index.js";
import { systemCollaborators } from "../src/kernel/collaborators.js";
import { TRUSTED_LOCAL } from "../src/kernel/identity.js";
import { createApp } from "../src/pipeline/app.js";
import { startScheduler } from "../src/scheduler/scheduler.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";

/** Schedules added per second under load (BENCH_SCHEDULES_PER_SEC). */
const SCHEDULES_PER_SEC = Number(process.env.BENCH_SCHEDULES_PER_SEC ?? 50);
/** Bookings the load's payments are spread over (BENCH_SCHEDULE_BOOKINGS). */
const BOOKINGS = Number(process.env.BENCH_SCHEDULE_BOOKINGS ?? 200);
const IN_FLIGHT = 64;
/** How long after it is made a schedule is due. */
const DUE_AFTER_MS = 500;

/** What this part of the bench reports. */
export interface LatenessFigures {
  readonly schedules: number;
  readonly ran: number;
  readonly loadCommandsPerSec: number;
  readonly latenessMs: { p50: number; p99: number; max: number };
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

/** Runs the scenario for `seconds` of load and reports the lateness of the schedules that came due in it. */
export async function scheduledLatenessBench(seconds: number): Promise<LatenessFigures> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-schedules-"));
  const store = openSqliteStore({ path: join(dir, "schedules.db"), synchronous: "FULL" });
  try {
    await store.ready?.();
    const app = createApp({ store, commands: bookingCommands, collaborators: systemCollaborators });
    const bookings = Array.from({ length: BOOKINGS }, (_, i) => `L-${i}`);
    for (const bookingId of bookings) {
      // A room each: one room's nights are booked once.
      const booked = await app.execute({ type: "booking.BookRoom", payload: { bookingId, roomId: bookingId, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-02", price: "1000000.00", currency: "EUR" } });
      if (booked.status !== "accepted") throw new Error(`seeding booking ${bookingId}: ${booked.status}`);
    }
    const lateness: number[] = [];
    const scheduler = startScheduler({
      schedules: store.schedules!,
      execute: app.execute,
      clock: systemCollaborators.clock,
      watchCommits: store.watchCommits,
      onRun: (_s, ending, latenessMs) => {
        if (ending === "done") lateness.push(latenessMs);
      },
    });
    const payment = (bookingId: string) => ({ bookingId, paymentId: randomUUID(), amount: "0.01", currency: "EUR", paidAt: "2026-01-01T00:00:00Z" });
    const end = Date.now() + seconds * 1000;
    let commands = 0;
    const worker = async () => {
      while (Date.now() < end) {
        const paid = await app.execute({ type: "booking.RecordPayment", payload: payment(bookings[Math.floor(Math.random() * bookings.length)]) });
        if (paid.status !== "accepted") throw new Error(`a payment under load: ${paid.status}`);
        commands++;
      }
    };
    let scheduled = 0;
    const feeder = async () => {
      const every = 1000 / SCHEDULES_PER_SEC;
      for (let next = Date.now(); Date.now() < end - DUE_AFTER_MS; next += every) {
        await sleep(Math.max(0, next - Date.now()));
        const now = Date.now();
        const bookingId = bookings[scheduled % bookings.length];
        await store.schedules!.add("default", {
          id: randomUUID(),
          commandType: "booking.RecordPayment",
          aggregateId: bookingId,
          payload: payment(bookingId),
          runAt: now + DUE_AFTER_MS,
          identity: TRUSTED_LOCAL,
          correlationId: "bench",
          causationId: "bench",
          createdAt: now,
        });
        scheduled++;
      }
    };
    const started = Date.now();
    await Promise.all([...Array.from({ length: IN_FLIGHT }, worker), feeder()]);
    const elapsedS = (Date.now() - started) / 1000;
    // The last schedules come due after the load ends; they are waited for, not counted as load.
    for (let waited = 0; lateness.length < scheduled && waited < 10_000; waited += 50) await sleep(50);
    await scheduler.stop();
    const sorted = [...lateness].sort((a, b) => a - b);
    return {
      schedules: scheduled,
      ran: lateness.length,
      loadCommandsPerSec: Math.round(commands / elapsedS),
      latenessMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await scheduledLatenessBench(Number(process.env.BENCH_SECONDS ?? 6));
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
