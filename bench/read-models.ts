// Read models (npm run bench runs it; `npm run bench:read-models` alone): RecordPayment
// throughput in process with the inline bookings projection against without it; a
// ListBookings-like find over many bookings, its first page against a deep one (keyset paging
// makes them cost alike); a rebuild's events per second against the store's catch-up read.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bookingCommands, bookingsProjection } from "../src/domain/booking/index.js";
import { createApp } from "../src/pipeline/app.js";
import { rebuildProjection } from "../src/read/rebuild.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";

/** What the read-model scenarios measured. */
export interface ReadModelFigures {
  readonly payments: { readonly withProjectionPerSec: number; readonly withoutPerSec: number };
  readonly find: { readonly bookings: number; readonly firstPage: Latency; readonly deepPage: Latency; readonly deepPageIndex: number };
  readonly rebuild: { readonly events: number; readonly rebuildPerSec: number; readonly readPerSec: number };
}

interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const IN_FLIGHT = 64;
const PAGE = 50;
const round = (n: number, digits = 3) => Number(n.toFixed(digits));

function latencyOf(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50Ms: round(at(0.5)), p99Ms: round(at(0.99)) };
}

/** A booking app on its own file, with or without the read models. */
function appOn(path: string, withProjection: boolean) {
  const store = openSqliteStore({ path, synchronous: "NORMAL" });
  return createApp({ store, commands: bookingCommands, projections: withProjection ? [bookingsProjection] : [] });
}

type BenchApp = ReturnType<typeof appOn>;

/** A stay for the i-th booking: check-in dates spread over two years, so ordering by them means something. */
function stayOf(i: number) {
  const day = new Date(Date.UTC(2027, 0, 1) + (i % 700) * 86_400_000).toISOString().slice(0, 10);
  const out = new Date(Date.UTC(2027, 0, 1) + ((i % 700) + 3) * 86_400_000).toISOString().slice(0, 10);
  return { checkIn: day, checkOut: out };
}

async function seed(app: BenchApp, bookings: number): Promise<void> {
  for (let i = 0; i < bookings; i += IN_FLIGHT) {
    await Promise.all(
      Array.from({ length: Math.min(IN_FLIGHT, bookings - i) }, async (_, k) => {
        // A room each: one room's nights are booked once, and every booking must be listed.
        const result = await app.commands.bookRoom({ bookingId: `b${i + k}`, roomId: `R${i + k}`, guestId: `g${(i + k) % 5000}`, ...stayOf(i + k), price: "1000000.00", currency: "EUR" });
        if (result.status !== "accepted") throw new Error(`seeding booking b${i + k}: ${result.status}`);
      }),
    );
  }
}

/** RecordPayments, IN_FLIGHT at a time, for `ms`: accepted per second. */
async function payments(app: BenchApp, bookings: number, ms: number, tag: string): Promise<number> {
  const until = performance.now() + ms;
  let accepted = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        const n = next++;
        const result = await app.commands.recordPayment({ bookingId: `b${n % bookings}`, paymentId: `${tag}-${n}`, amount: "0.01", currency: "EUR", paidAt: "2026-05-01T10:00:00Z" });
        if (result.status === "accepted") accepted++;
      }
    }),
  );
  return Math.round(accepted / ((performance.now() - started) / 1000));
}

/** Runs every read-model scenario; sizes are small by default so that a run stays short. */
export async function readModelBench(seconds: number, bookings = Number(process.env.BENCH_READ_BOOKINGS ?? 50_000)): Promise<ReadModelFigures> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-read-"));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const paymentBookings = Math.min(bookings, 1000);
    const withProjection = appOn(join(dir, "with.db"), true);
    const without = appOn(join(dir, "without.db"), false);
    let withFigures = 0;
    let withoutFigures = 0;
    try {
      await Promise.all([seed(withProjection, paymentBookings), seed(without, paymentBookings)]);
      // Warm-up, then turns in three windows each so that a drift of the machine touches both alike.
      await payments(withProjection, paymentBookings, 300, "warm");
      await payments(without, paymentBookings, 300, "warm");
      const window = (seconds * 1000) / 3;
      for (let round = 0; round < 3; round++) {
        withFigures += await payments(withProjection, paymentBookings, window, `w${round}`);
        withoutFigures += await payments(without, paymentBookings, window, `o${round}`);
      }
    } finally {
      await Promise.all([withProjection.close(), without.close()]);
    }
    const paymentsFigures = { withProjectionPerSec: Math.round(withFigures / 3), withoutPerSec: Math.round(withoutFigures / 3) };
    out(`RecordPayment in process, ${IN_FLIGHT} in flight: with the bookings projection ${paymentsFigures.withProjectionPerSec}/s, without ${paymentsFigures.withoutPerSec}/s`);

    const listed = appOn(join(dir, "list.db"), true);
    try {
      await seed(listed, bookings);
      const options = { tenant: "default", orderBy: { field: "checkIn" }, pageSize: PAGE } as const;
      const filter = { status: "booked" };
      // The token of a page near the end, found by paging there once.
      const pages = Math.ceil(bookings / PAGE);
      const deepPageIndex = Math.max(1, Math.floor(pages * 0.9));
      let token = "";
      for (let p = 0; p < deepPageIndex; p++) token = (await listed.read.find("bookings", filter, { ...options, pageToken: token })).nextPageToken;
      const first: number[] = [];
      const deep: number[] = [];
      // A p99 from a few hundred samples is a handful of outliers; this part runs beside the memory run.
      const samples = Math.max(50, Math.min(2000, seconds * 500));
      for (let i = 0; i < samples; i++) {
        let started = performance.now();
        await listed.read.find("bookings", filter, options);
        first.push(performance.now() - started);
        started = performance.now();
        await listed.read.find("bookings", filter, { ...options, pageToken: token });
        deep.push(performance.now() - started);
      }
      const find = { bookings, firstPage: latencyOf(first), deepPage: latencyOf(deep), deepPageIndex };
      out(`find over ${bookings} bookings by check-in, ${PAGE} a page: first page p50 ${find.firstPage.p50Ms} ms p99 ${find.firstPage.p99Ms} ms; page ${deepPageIndex} p50 ${find.deepPage.p50Ms} ms p99 ${find.deepPage.p99Ms} ms`);

      const events = await listed.store.headPosition();
      let started = performance.now();
      let read = 0;
      for (let from = 1; ; ) {
        const page = await listed.store.readAll("default", { fromPosition: from, maxCount: 1000 });
        if (page.length === 0) break;
        read += page.length;
        from = page[page.length - 1].position + 1;
      }
      const readPerSec = Math.round(read / ((performance.now() - started) / 1000));
      started = performance.now();
      await rebuildProjection({ store: listed.store, feed: listed.feed, projection: bookingsProjection, projections: [bookingsProjection] });
      const rebuildPerSec = Math.round(events / ((performance.now() - started) / 1000));
      out(`rebuild of bookings from ${events} events: ${rebuildPerSec}/s; the store's catch-up read: ${readPerSec}/s`);
      return { payments: paymentsFigures, find, rebuild: { events, rebuildPerSec, readPerSec } };
    } finally {
      await listed.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await readModelBench(Number(process.env.BENCH_SECONDS ?? 6));
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
