// `npm run bench`: Switchyard against the ceilings of its own parts, in one run. See bench/README.md.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { bookingCommands } from "../src/domain/booking/index.js";
import { createApp } from "../src/pipeline/app.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { openRawCeiling } from "./raw-sqlite.js";
import { REQUEST_IDS, requestIdOf } from "./request-ids.js";
import type { EventStore } from "../src/store/event-store.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { startTestPostgres } from "../test/support/postgres.js";
import { generate, processStats, seedBookings, startServer, type BenchServer } from "./harness.js";
import type { LoadPlan } from "./load-generator.js";
import { subscriptionBench } from "./subscriptions.js";
import { readModelBench } from "./read-models.js";

const run = promisify(execFile);
const HERE = import.meta.dirname;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
/** Windows each scenario of a compared pair is split into, taking turns with the other. */
const ROUNDS = 3;
/** Bookings the RecordPayment scenarios (and the raw ceiling's appends) are spread over. */
const BOOKINGS = 1000;
/** Extra Node or V8 options for the service process, to measure a setting (`BENCH_SERVER_NODE_OPTIONS="--max-semi-space-size=64"`). */
const SERVER_NODE_OPTIONS = (process.env.BENCH_SERVER_NODE_OPTIONS ?? "").split(" ").filter(Boolean);
const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));

/** One row of the results table. */
interface Scenario {
  name: string;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpuUsPerCall: number;
  rssMb: number;
  calls: number;
  errors: number;
  generatorCpuPct?: number;
}
const scenarios: Scenario[] = [];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** A gRPC scenario to measure: its row name and what the generator drives. */
interface GrpcPlan {
  readonly name: string;
  readonly plan: Omit<LoadPlan, "address" | "durationMs">;
}

/**
 * Measures gRPC scenarios against a running server. Scenarios whose figures are compared in
 * a ratio are passed together: each is warmed up, then they take turns in ROUNDS short
 * windows and each one's windows are pooled, so a drift in this machine's speed during the
 * run (it is shared and noisy) touches both sides of the ratio alike.
 */
async function grpcScenarios(server: BenchServer, plans: readonly GrpcPlan[]): Promise<Scenario[]> {
  for (const { plan } of plans) await generate({ ...plan, address: server.address, durationMs: 1500 });
  const pooled = plans.map(() => ({ calls: 0, errors: 0, elapsedMs: 0, cpuUs: 0, generatorCpuUs: 0, latencies: [] as number[], firstError: "" }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, { plan }] of plans.entries()) {
      const before = processStats(server.pid);
      const figures = await generate({ ...plan, address: server.address, durationMs: (SECONDS * 1000) / ROUNDS });
      const after = processStats(server.pid);
      const p = pooled[i];
      p.calls += figures.calls;
      p.errors += figures.errors;
      p.firstError ||= figures.firstError ?? "";
      p.elapsedMs += figures.elapsedMs;
      p.cpuUs += after.cpuUs - before.cpuUs;
      p.generatorCpuUs += figures.generatorCpuUs;
      for (const ms of figures.latenciesMs) p.latencies.push(ms);
    }
  }
  const peakMb = processStats(server.pid).peakMb;
  return plans.map(({ name }, i) => {
    const p = pooled[i];
    if (p.errors > 0) process.stderr.write(`${name}: ${p.errors} errors, first: ${p.firstError}\n`);
    return record(name, { ...p, latenciesMs: p.latencies, rssMb: peakMb });
  });
}

/** What one scenario measured, pooled over its windows. */
interface Measured {
  readonly calls: number;
  readonly elapsedMs: number;
  readonly cpuUs: number;
  readonly latenciesMs?: number[];
  readonly rssMb?: number;
  readonly errors?: number;
  readonly generatorCpuUs?: number;
}

/** Makes a measurement a row of the results, prints it and keeps it for results.json. */
function record(name: string, m: Measured): Scenario {
  const sorted = (m.latenciesMs ?? []).sort((a, b) => a - b);
  const row: Scenario = {
    name,
    callsPerSec: round((m.calls / m.elapsedMs) * 1000, 0),
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
    maxMs: round(sorted.at(-1) ?? 0),
    serverCpuUsPerCall: round(m.cpuUs / Math.max(1, m.calls), 1),
    rssMb: round(m.rssMb ?? 0, 1),
    calls: m.calls,
    errors: m.errors ?? 0,
    generatorCpuPct: m.generatorCpuUs === undefined ? undefined : round((m.generatorCpuUs / (m.elapsedMs * 1000)) * 100, 0),
  };
  scenarios.push(row);
  print(row);
  return row;
}

function print(row: Scenario): void {
  process.stdout.write(
    `${row.name.padEnd(44)} ${String(row.callsPerSec).padStart(8)}/s  p50 ${String(row.p50Ms).padStart(6)} ms  p99 ${String(row.p99Ms).padStart(6)} ms  max ${String(row.maxMs).padStart(7)} ms  cpu ${String(row.serverCpuUsPerCall).padStart(6)} µs/call  rss ${String(row.rssMb).padStart(6)} MB${row.generatorCpuPct !== undefined ? `  gen cpu ${row.generatorCpuPct}%` : ""}${row.errors ? `  ERRORS ${row.errors}` : ""}\n`,
  );
}

/** A stream of `events` events: a booking with events-1 payments. */
async function seedLongStream(database: string, bookingId: string, events: number): Promise<void> {
  const app = createApp({ store: openSqliteStore({ path: database, synchronous: "NORMAL" }), commands: bookingCommands });
  await app.commands.bookRoom({ bookingId, roomId: "R1", guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "10000000.00", currency: "EUR" });
  for (let i = 1; i < events; i++) {
    await app.commands.recordPayment({ bookingId, paymentId: `seed-${i}`, amount: "0.01", currency: "EUR", paidAt: "2026-01-01T00:00:00Z" });
  }
  await app.close();
}

/**
 * In-process throughput: app.execute with no network, `inFlight` commands at a time. With
 * `between`, the measured time is split into ROUNDS windows and `between` runs before each
 * (the raw ceiling it is compared with takes turns with it).
 */
async function inProcessScenario(name: string, database: string | (() => Promise<EventStore>), bookings: string[], inFlight: number, between?: () => void) {
  const store = typeof database === "string" ? openSqliteStore({ path: database, synchronous: "FULL" }) : await database();
  const app = createApp({ store, commands: bookingCommands });
  let pass = 0;
  const latencies: number[] = [];
  let elapsedMs = 0;
  let cpuUs = 0;
  const runFor = async (ms: number, measured: boolean) => {
    const tag = `inproc-${inFlight}-${++pass}`;
    let n = 0;
    const started = performance.now();
    const end = started + ms;
    const cpu = process.cpuUsage();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) {
          const i = n++;
          const sent = performance.now();
          const result = await app.execute({
            type: "booking.RecordPayment",
            payload: { bookingId: bookings[i % bookings.length], paymentId: `${tag}-${i}`, amount: "0.01", currency: "EUR", paidAt: "2026-01-01T00:00:00Z" },
            metadata: { requestId: requestIdOf(tag, i) },
          });
          if (result.status !== "accepted") throw new Error(`in-process command ${result.status}`);
          if (measured) latencies.push(performance.now() - sent);
        }
      }),
    );
    if (!measured) return;
    const used = process.cpuUsage(cpu);
    elapsedMs += performance.now() - started;
    cpuUs += used.user + used.system;
  };
  await runFor(1000, false);
  const windows = between ? ROUNDS : 1;
  for (let w = 0; w < windows; w++) {
    between?.();
    await runFor((SECONDS * 1000) / windows, true);
  }
  await app.close();
  return record(name, { calls: latencies.length, elapsedMs, cpuUs, latenciesMs: latencies, rssMb: process.memoryUsage().rss / 1048576 });
}

/**
 * RecordPayment over gRPC and the in-process runs on the PostgreSQL store, on a throwaway
 * cluster on this machine (the database server shares the two cores; its CPU is not in the
 * figures), when PostgreSQL is installed; outside the ratios.
 */
async function postgresScenarios(): Promise<void> {
  const started = await startTestPostgres();
  if ("skip" in started) {
    process.stdout.write(`in process on PostgreSQL: skipped (${started.skip})\n`);
    return;
  }
  try {
    const url = await started.postgres.database("bench");
    const open = () => openPostgresStore({ connectionString: url });
    const bookings = await seedBookings(await open(), "PG", BOOKINGS);
    const server = await startServer(url, { nodeOptions: SERVER_NODE_OPTIONS });
    try {
      await grpcScenarios(server, [{ name: "RecordPayment over gRPC on PostgreSQL, 64 in flight", plan: { rpc: "recordPayment", inFlight: 64, bookings } }]);
    } finally {
      await server.stop();
    }
    await inProcessScenario("in process on PostgreSQL (app.execute), 64 in flight", open, bookings, 64);
    await inProcessScenario("in process on PostgreSQL (app.execute), 1 in flight", open, bookings, 1);
  } finally {
    await started.postgres.stop();
  }
}

/** A row for raw appends. */
function rawRow(name: string, figures: { appends: number; elapsedMs: number; cpuUs: number }): Scenario {
  return record(name, { calls: figures.appends, elapsedMs: figures.elapsedMs, cpuUs: figures.cpuUs });
}

/** RSS of a process that has run 100k, then 1M commands in process (new bookings each). */
async function rssScenario(database: string, total: number) {
  const { stdout } = await run(process.execPath, ["--expose-gc", "--import", "tsx", join(HERE, "rss-run.ts"), database, String(total)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as { checkpoints: Array<{ commands: number; rssMb: number; liveHeapMb: number }>; seconds: number };
}

async function main() {
  process.stdout.write(`Switchyard benchmark: ${SECONDS} s per scenario, synchronous=FULL, ${REQUEST_IDS} request ids, 2 cores\n\n`);

  const database = join(dir, "e2e.db");
  const bookings = await seedBookings(database, "B", BOOKINGS);
  await seedLongStream(database, "LONG", 10_000);
  await seedLongStream(database, "SHORT", 1);
  const server = await startServer(database, { nodeOptions: SERVER_NODE_OPTIONS });
  try {
    const [echo64, pay64] = await grpcScenarios(server, [
      { name: "echo ceiling, 64 in flight", plan: { rpc: "echo", inFlight: 64 } },
      { name: "RecordPayment over gRPC, 64 in flight", plan: { rpc: "recordPayment", inFlight: 64, bookings } },
    ]);
    // What the generator could drive were it the limit: echo calls per second per core of its CPU.
    const generatorCapacityPerSec = Math.round(echo64.callsPerSec / Math.max(0.01, (echo64.generatorCpuPct ?? 100) / 100));
    process.stdout.write(`load generator capacity against echo: ~${generatorCapacityPerSec} calls/s at 100% of a core\n`);
    await grpcScenarios(server, [
      { name: "echo ceiling, 1 in flight", plan: { rpc: "echo", inFlight: 1 } },
      { name: "RecordPayment over gRPC, 1 in flight", plan: { rpc: "recordPayment", inFlight: 1, bookings } },
      { name: "BookRoom over gRPC, 64 in flight", plan: { rpc: "bookRoom", inFlight: 64 } },
      { name: "BookRoom over gRPC, 1 in flight", plan: { rpc: "bookRoom", inFlight: 1 } },
    ]);
    const [short, long] = await grpcScenarios(server, [
      { name: "RecordPayment, 1-event stream, 1 in flight", plan: { rpc: "recordPayment", inFlight: 1, bookings: ["SHORT"] } },
      { name: "RecordPayment, 10,000-event stream, 1 in flight", plan: { rpc: "recordPayment", inFlight: 1, bookings: ["LONG"] } },
    ]);

    await server.stop();
    const raw = openRawCeiling(join(dir, "raw.db"), BOOKINGS);
    rawRow("raw SQLite append, 1 per transaction", raw.measure(1, SECONDS));
    // The raw ceiling's grouped appends take turns with the in-process run, window by window;
    // the ratio is taken against the better of its two groupings. (The in-process run's group
    // commits hold at most 32 appends: both groupings share their fsyncs more than it does.)
    const grouped64 = { appends: 0, elapsedMs: 0, cpuUs: 0 };
    const grouped100 = { appends: 0, elapsedMs: 0, cpuUs: 0 };
    const add = (into: typeof grouped64, window: typeof grouped64) => {
      into.appends += window.appends;
      into.elapsedMs += window.elapsedMs;
      into.cpuUs += window.cpuUs;
    };
    const inProcess64 = await inProcessScenario("in process (app.execute), 64 in flight", database, bookings, 64, () => {
      add(grouped64, raw.measure(64, SECONDS / ROUNDS));
      add(grouped100, raw.measure(100, SECONDS / ROUNDS));
    });
    const grouped = [rawRow("raw SQLite append, 64 per transaction", grouped64), rawRow("raw SQLite append, 100 per transaction", grouped100)].sort(
      (a, b) => b.callsPerSec - a.callsPerSec,
    )[0];
    raw.close();
    await inProcessScenario("in process (app.execute), 1 in flight", database, bookings, 1);
    await postgresScenarios();

    const rssTotal = Number(process.env.BENCH_RSS_COMMANDS ?? 1_000_000);
    const rss = await rssScenario(join(dir, "rss.db"), rssTotal);
    const at100k = rss.checkpoints.find((c) => c.commands === 100_000) ?? rss.checkpoints[0];
    const atEnd = rss.checkpoints.at(-1)!;
    process.stdout.write(`\nRSS over ${rssTotal} in-process BookRoom commands (${rss.seconds} s): ${rss.checkpoints.map((c) => `${c.commands}: ${c.rssMb} MB (live heap ${c.liveHeapMb} MB)`).join(", ")}\n`);

    process.stdout.write("\nsubscriptions\n");
    const subscriptions = await subscriptionBench(SECONDS);
    const sqliteCatchUp = subscriptions.catchUp.find((c) => c.store === "SQLite")!;
    const live100 = subscriptions.live.find((l) => l.subscribers === 100 && l.ratePerSec === 1000)!;

    process.stdout.write("\nread models\n");
    const readModels = await readModelBench(SECONDS);

    const ratios = {
      serverCpuRecordPaymentVsEcho: round(pay64.serverCpuUsPerCall / echo64.serverCpuUsPerCall),
      throughputRecordPaymentVsEcho: round(pay64.callsPerSec / echo64.callsPerSec),
      recordPaymentP99Ms: pay64.p99Ms,
      inProcessVsGroupedAppend: round(inProcess64.callsPerSec / grouped.callsPerSec),
      longStreamVsShortStreamP50: round(long.p50Ms / short.p50Ms),
      rss1MVs100k: round(atEnd.rssMb / at100k.rssMb),
      catchUpVsRawRead: sqliteCatchUp.ratio,
      liveP99MsAt100Subscribers: live100.appendToDelivery.p99Ms,
      recordPaymentWithVsWithoutInlineProjection: round(readModels.payments.withProjectionPerSec / readModels.payments.withoutPerSec),
      findDeepPageVsFirstPageP50: round(readModels.find.deepPage.p50Ms / readModels.find.firstPage.p50Ms),
      findDeepPageVsFirstPageP99: round(readModels.find.deepPage.p99Ms / readModels.find.firstPage.p99Ms),
      rebuildVsCatchUpRead: round(readModels.rebuild.rebuildPerSec / readModels.rebuild.readPerSec),
    };
    const targets = {
      serverCpuRecordPaymentVsEcho: ratios.serverCpuRecordPaymentVsEcho <= 2,
      throughputRecordPaymentVsEcho: ratios.throughputRecordPaymentVsEcho >= 0.5,
      recordPaymentP99Ms: ratios.recordPaymentP99Ms <= 25,
      inProcessVsGroupedAppend: ratios.inProcessVsGroupedAppend >= 0.5,
      longStreamVsShortStreamP50: ratios.longStreamVsShortStreamP50 <= 1.3,
      rss1MVs100k: ratios.rss1MVs100k <= 1.2,
      catchUpVsRawRead: ratios.catchUpVsRawRead >= 0.5,
      liveP99MsAt100Subscribers: ratios.liveP99MsAt100Subscribers <= 20,
      recordPaymentWithVsWithoutInlineProjection: ratios.recordPaymentWithVsWithoutInlineProjection >= 0.85,
      findDeepPageVsFirstPageP50: ratios.findDeepPageVsFirstPageP50 <= 2,
      findDeepPageVsFirstPageP99: ratios.findDeepPageVsFirstPageP99 <= 2,
      // A rebuild reads every event and writes every document: a quarter of the bare read is the aim.
      rebuildVsCatchUpRead: ratios.rebuildVsCatchUpRead >= 0.25,
    };
    process.stdout.write("\nratio                               value   target met\n");
    for (const [key, value] of Object.entries(ratios)) {
      process.stdout.write(`${key.padEnd(34)} ${String(value).padStart(7)}   ${targets[key as keyof typeof targets] ? "yes" : "NO"}\n`);
    }
    writeFileSync(
      join(HERE, "results.json"),
      JSON.stringify(
        {
          when: new Date().toISOString(),
          secondsPerScenario: SECONDS,
          serverNodeOptions: SERVER_NODE_OPTIONS,
          requestIds: REQUEST_IDS,
          generatorCapacityPerSec,
          scenarios: scenarios.map(({ name, callsPerSec, p50Ms, p99Ms, maxMs, serverCpuUsPerCall, rssMb, calls, errors, generatorCpuPct }) => ({
            name, callsPerSec, p50Ms, p99Ms, maxMs, serverCpuUsPerCall, rssMb, calls, errors, generatorCpuPct,
          })),
          rss: rss.checkpoints,
          subscriptions,
          readModels,
          ratios,
          targetsMet: targets,
        },
        null,
        2,
      ) + "\n",
    );
    process.stdout.write("\nwrote bench/results.json\n");
  } finally {
    await server.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
