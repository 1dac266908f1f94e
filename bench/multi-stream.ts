// BookRoom, which decides over two streams (the booking and its room) and appends to both,
// against RecordPayment, which decides over one: in process and over gRPC, taking turns in
// windows so that the shared machine's drift touches both sides alike. Run alone with
// `npm run bench:multi-stream`; `npm run bench` runs it too and records its ratios.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bookingCommands } from "../src/domain/booking/index.js";
import { createApp } from "../src/pipeline/app.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { generate, processStats, seedBookings, startServer } from "./harness.js";
import { requestIdOf } from "./request-ids.js";

/** Windows each side is split into. */
const ROUNDS = 3;
const IN_FLIGHT = 64;

/** One side's pooled figures: calls, time and CPU (the process's own in process, the server's over gRPC). */
interface Side {
  calls: number;
  elapsedMs: number;
  cpuUs: number;
}

/** What the comparison found: each side's CPU per call and calls per second, and BookRoom's cost over RecordPayment's. */
export interface MultiStreamFigures {
  readonly inProcess: { bookRoom: Figures; recordPayment: Figures; cpuRatio: number };
  readonly grpc: { bookRoom: Figures; recordPayment: Figures; cpuRatio: number };
}

interface Figures {
  readonly callsPerSec: number;
  readonly cpuUsPerCall: number;
}

const figuresOf = (s: Side): Figures => ({
  callsPerSec: Math.round((s.calls / Math.max(1, s.elapsedMs)) * 1000),
  cpuUsPerCall: Number((s.cpuUs / Math.max(1, s.calls)).toFixed(1)),
});

/** Both comparisons, `seconds` per side, with `bookings` seeded bookings to pay into. */
export async function multiStreamBench(seconds: number, bookings = 200): Promise<MultiStreamFigures> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-multi-stream-"));
  try {
    const database = join(dir, "bench.db");
    const ids = await seedBookings(database, "MS", bookings);
    const inProcess = await inProcessSides(database, ids, seconds);
    const grpc = await grpcSides(database, ids, seconds);
    return { inProcess, grpc };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function inProcessSides(database: string, bookings: readonly string[], seconds: number) {
  const app = createApp({ store: openSqliteStore({ path: database, synchronous: "FULL" }), commands: bookingCommands });
  const sides = { book: { calls: 0, elapsedMs: 0, cpuUs: 0 }, pay: { calls: 0, elapsedMs: 0, cpuUs: 0 } };
  let pass = 0;
  const runFor = async (kind: "book" | "pay", ms: number, into?: Side) => {
    const tag = `ms-${kind}-${++pass}`;
    let n = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < started + ms) {
          const i = n++;
          const id = `${tag}-${i}`;
          const payload =
            kind === "book"
              ? { bookingId: id, roomId: id, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "100.00", currency: "EUR" }
              : { bookingId: bookings[i % bookings.length], paymentId: id, amount: "0.01", currency: "EUR", paidAt: "2026-01-01T00:00:00Z" };
          const type = kind === "book" ? "booking.BookRoom" : "booking.RecordPayment";
          const result = await app.execute({ type, payload, metadata: { requestId: requestIdOf(tag, i) } });
          if (result.status !== "accepted") throw new Error(`${type} in process: ${result.status}`);
        }
      }),
    );
    if (!into) return;
    const used = process.cpuUsage(cpu);
    into.calls += n;
    into.elapsedMs += performance.now() - started;
    into.cpuUs += used.user + used.system;
  };
  await runFor("book", 500);
  await runFor("pay", 500);
  for (let r = 0; r < ROUNDS; r++) {
    await runFor("book", (seconds * 1000) / ROUNDS, sides.book);
    await runFor("pay", (seconds * 1000) / ROUNDS, sides.pay);
  }
  await app.close();
  return compare(sides.book, sides.pay);
}

async function grpcSides(database: string, bookings: readonly string[], seconds: number) {
  const server = await startServer(database);
  try {
    const sides = { book: { calls: 0, elapsedMs: 0, cpuUs: 0 }, pay: { calls: 0, elapsedMs: 0, cpuUs: 0 } };
    const plans = { book: { rpc: "bookRoom" as const, inFlight: IN_FLIGHT }, pay: { rpc: "recordPayment" as const, inFlight: IN_FLIGHT, bookings } };
    for (const plan of Object.values(plans)) await generate({ ...plan, address: server.address, durationMs: 500 });
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of ["book", "pay"] as const) {
        const before = processStats(server.pid);
        const figures = await generate({ ...plans[kind], address: server.address, durationMs: (seconds * 1000) / ROUNDS });
        if (figures.errors > 0) throw new Error(`${plans[kind].rpc} over gRPC: ${figures.errors} errors, first: ${figures.firstError}`);
        sides[kind].calls += figures.calls;
        sides[kind].elapsedMs += figures.elapsedMs;
        sides[kind].cpuUs += processStats(server.pid).cpuUs - before.cpuUs;
      }
    }
    return compare(sides.book, sides.pay);
  } finally {
    await server.stop();
  }
}

function compare(book: Side, pay: Side) {
  const bookRoom = figuresOf(book);
  const recordPayment = figuresOf(pay);
  return { bookRoom, recordPayment, cpuRatio: Number((bookRoom.cpuUsPerCall / Math.max(0.1, recordPayment.cpuUsPerCall)).toFixed(2)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await multiStreamBench(Number(process.env.BENCH_SECONDS ?? 6), Number(process.env.BENCH_BOOKINGS ?? 200));
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
