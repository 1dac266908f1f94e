// `npm run bench`: Switchyard against the ceilings of its own parts, in one run. See bench/README.md.
import Database from "better-sqlite3";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { bookingCommands, bookingProjections } from "../src/domain/booking/index.js";
import { createApp } from "../src/pipeline/app.js";
import { consumerNameOf } from "../src/read/read-service.js";
import type { EventStore } from "../src/store/event-store.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { startTestPostgres } from "../test/support/postgres.js";
import { generate, mainThreadCpu, processStats, seedBookings, SERVER_NODE_OPTIONS, startServer, type BenchServer } from "./harness.js";
import type { LoadPlan } from "./load-generator.js";
import { openRawCeiling } from "./raw-sqlite.js";
import { readModelBench } from "./read-models.js";
import { replicaScenarios } from "./replicas.js";
import { REQUEST_IDS, requestIdOf } from "./request-ids.js";
import { scheduledLatenessBench } from "./scheduled-lateness.js";
import { subscriptionBench } from "./subscriptions.js";

const run = promisify(execFile);
const HERE = import.meta.dirname;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
/** Windows each scenario of a compared group is split into, taking turns with the others. */
const ROUNDS = 3;
/** Bookings the RecordPayment scenarios (and the raw ceiling's appends) are spread over. */
const BOOKINGS = 1000;
/**
 * How long commands run before the first window, in the service process and in this one: V8
 * goes on optimizing the code for seconds under load, on threads whose CPU a window would
 * count. The service's code takes longer (bench/README.md); a longer warm-up in process would
 * only grow the file the windows then write to.
 */
const WARM_UP_MS = { service: 8000, inProcess: 3000 };
const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));

/** One row of the results table. */
interface Scenario {
  name: string;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpuUsPerCall: number;
  /** Of serverCpuUsPerCall, the main thread's and the other threads' (writer, GC, libuv), for the service process. */
  mainThreadUsPerCall?: number;
  otherThreadsUsPerCall?: number;
  /** How often the service's main thread went to sleep per call (voluntary context switches). */
  mainThreadSleepsPerCall?: number;
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

/** What one window of a scenario measured. */
interface Window {
  readonly calls: number;
  readonly elapsedMs: number;
  readonly cpuUs: number;
  readonly latenciesMs?: number[];
  readonly errors?: number;
  readonly firstError?: string;
  readonly generatorCpuUs?: number;
  readonly mainUs?: number;
  readonly otherUs?: number;
  readonly mainSleeps?: number;
  readonly rssMb?: number;
}

/** A scenario of a compared group: warmed up once, then measured window by window. */
interface Side {
  readonly name: string;
  warm(): Promise<unknown>;
  window(ms: number): Promise<Window>;
}

/**
 * Measures scenarios whose figures are compared in a ratio: each is warmed up, then they take
 * turns in ROUNDS short windows and each one's windows are pooled, so a drift in this
 * machine's speed during the run (it is shared and noisy) touches every side alike.
 */
async function takeTurns(sides: readonly Side[]): Promise<Scenario[]> {
  for (const side of sides) await side.warm();
  const pooled = sides.map(() => ({ calls: 0, errors: 0, firstError: "", elapsedMs: 0, cpuUs: 0, generatorCpuUs: 0, mainUs: 0, otherUs: 0, mainSleeps: 0, latenciesMs: [] as number[], rssMb: 0 }));
  // Whether each side reported the generator's CPU and the CPU per thread (raw sides do not).
  const generated = sides.map(() => false);
  const threads = sides.map(() => false);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, side] of sides.entries()) {
      const w = await side.window((SECONDS * 1000) / ROUNDS);
      const p = pooled[i];
      p.calls += w.calls;
      p.errors += w.errors ?? 0;
      p.firstError ||= w.firstError ?? "";
      p.elapsedMs += w.elapsedMs;
      p.cpuUs += w.cpuUs;
      p.rssMb = Math.max(p.rssMb, w.rssMb ?? 0);
      if (w.generatorCpuUs !== undefined) [generated[i], p.generatorCpuUs] = [true, p.generatorCpuUs + w.generatorCpuUs];
      if (w.mainUs !== undefined) [threads[i], p.mainUs, p.otherUs, p.mainSleeps] = [true, p.mainUs + w.mainUs, p.otherUs + (w.otherUs ?? 0), p.mainSleeps + (w.mainSleeps ?? 0)];
      for (const ms of w.latenciesMs ?? []) p.latenciesMs.push(ms);
    }
  }
  return sides.map(({ name }, i) => {
    const p = pooled[i];
    if (p.errors > 0) process.stderr.write(`${name}: ${p.errors} errors, first: ${p.firstError}\n`);
    const split = threads[i];
    return record(name, { ...p, generatorCpuUs: generated[i] ? p.generatorCpuUs : undefined, mainUs: split ? p.mainUs : undefined, otherUs: split ? p.otherUs : undefined, mainSleeps: split ? p.mainSleeps : undefined });
  });
}

/** A gRPC scenario against a running server; the server's CPU is read from /proc around each window. */
function grpcSide(server: BenchServer, name: string, plan: Omit<LoadPlan, "address" | "durationMs">, settle?: () => Promise<void>): Side {
  return {
    name,
    async warm() {
      await generate({ ...plan, address: server.address, durationMs: 500 });
      await settle?.(); // its folding is not left to the first window
    },
    async window(ms) {
      const before = processStats(server.pid);
      const threadsBefore = mainThreadCpu(server.pid);
      const figures = await generate({ ...plan, address: server.address, durationMs: ms });
      await settle?.();
      const after = processStats(server.pid);
      const threadsAfter = mainThreadCpu(server.pid);
      return {
        ...figures,
        cpuUs: after.cpuUs - before.cpuUs,
        mainUs: threadsAfter.mainUs - threadsBefore.mainUs,
        otherUs: threadsAfter.otherUs - threadsBefore.otherUs,
        mainSleeps: threadsAfter.mainSleeps - threadsBefore.mainSleeps,
        rssMb: after.peakMb,
      };
    },
  };
}

/** The service's app without its edges: the same commands and read models (inline `bookings`, async `guest_stays`). */
function serviceApp(store: EventStore) {
  return createApp({ store, commands: bookingCommands, projections: bookingProjections });
}

/** The service's async read models, by consumer name. */
const ASYNC_CONSUMERS = bookingProjections.filter((p) => p.mode === "async").map(consumerNameOf);

/**
 * Waits until the async read models have folded every event, polling every `everyMs`: a
 * window's commands are charged the folding of their events, and no catch-up runs beside
 * the next window.
 */
async function foldedAll(head: () => Promise<number> | number, checkpoint: (name: string) => Promise<number> | number, everyMs: number): Promise<void> {
  const end = Date.now() + 60_000;
  for (;;) {
    const at = await head();
    const positions = await Promise.all(ASYNC_CONSUMERS.map(checkpoint));
    if (positions.every((position) => position >= at)) return;
    if (Date.now() > end) throw new Error(`the async read models (${ASYNC_CONSUMERS.join(", ")}) did not catch up within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * foldedAll for a server on the file `path`, read through one connection of this process
 * (whose CPU no window counts), polling every 10 ms; close it when done.
 */
function foldedOnFile(path: string): { wait(): Promise<void>; close(): void } {
  const db = new Database(path, { readonly: true });
  const head = db.prepare<[], number>("SELECT coalesce(max(position), 0) FROM events").pluck();
  const checkpoint = db.prepare<[string], number>("SELECT position FROM consumers WHERE name = ?").pluck();
  return { wait: () => foldedAll(() => head.get()!, (name) => checkpoint.get(name) ?? 0, 10), close: () => db.close() };
}

/** foldedAll for an app in this process, through its own store (a few cheap reads, counted with the window). */
function settledIn(store: EventStore): () => Promise<void> {
  const checkpoint = store.consumerCheckpoint?.bind(store);
  if (!checkpoint) throw new Error("the store keeps no consumer checkpoints");
  return () => foldedAll(() => store.headPosition(), checkpoint, 5);
}

/** The command pipeline alone, without read models: what the raw ceilings are compared with (they write none either). */
function pipelineApp(store: EventStore) {
  return createApp({ store, commands: bookingCommands });
}

/** app.execute in this process, `inFlight` commands at a time: RecordPayment into `bookings`, or BookRoom of new bookings. */
function inProcessSide(app: ReturnType<typeof pipelineApp>, name: string, command: "pay" | "book", inFlight: number, bookings: readonly string[], settle?: () => Promise<void>): Side {
  let pass = 0;
  const runFor = async (ms: number): Promise<Window> => {
    const tag = `${command}-${inFlight}-${++pass}-${Math.random().toString(36).slice(2, 8)}`;
    let n = 0;
    const latenciesMs: number[] = [];
    const started = performance.now();
    const end = started + ms;
    const cpu = process.cpuUsage();
    const threadsBefore = mainThreadCpu(process.pid);
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) {
          const i = n++;
          const sent = performance.now();
          const result = await app.execute(
            command === "pay"
              ? {
                  type: "booking.RecordPayment",
                  payload: { bookingId: bookings[i % bookings.length], paymentId: `${tag}-${i}`, amount: "0.01", currency: "EUR", paidAt: "2026-01-01T00:00:00Z" },
                  metadata: { requestId: requestIdOf(tag, i) },
                }
              : {
                  type: "booking.BookRoom",
                  payload: { bookingId: `${tag}-${i}`, roomId: `${tag}-${i}`, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "200.00", currency: "EUR" },
                  metadata: { requestId: requestIdOf(tag, i) },
                },
          );
          if (result.status !== "accepted") throw new Error(`${name}: ${result.status}`);
          latenciesMs.push(performance.now() - sent);
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    await settle?.();
    const used = process.cpuUsage(cpu);
    const threadsAfter = mainThreadCpu(process.pid);
    return {
      calls: latenciesMs.length,
      elapsedMs,
      cpuUs: used.user + used.system,
      // The other threads: the stores' writer threads above all, and V8's and libuv's.
      mainUs: threadsAfter.mainUs - threadsBefore.mainUs,
      otherUs: threadsAfter.otherUs - threadsBefore.otherUs,
      mainSleeps: threadsAfter.mainSleeps - threadsBefore.mainSleeps,
      latenciesMs,
      rssMb: process.memoryUsage.rss() / 1048576,
    };
  };
  return { name, warm: () => runFor(300), window: runFor };
}

/** Raw appends, `perTransaction` to a transaction (raw-sqlite.ts). */
function rawSide(raw: ReturnType<typeof openRawCeiling>, name: string, perTransaction: number): Side {
  const window = async (ms: number): Promise<Window> => {
    const figures = raw.measure(perTransaction, ms / 1000);
    return { calls: figures.appends, elapsedMs: figures.elapsedMs, cpuUs: figures.cpuUs };
  };
  return { name, warm: () => window(300), window };
}

/** Makes a measurement a row of the results, prints it and keeps it for results.json. */
function record(name: string, m: Window): Scenario {
  const sorted = (m.latenciesMs ?? []).sort((a, b) => a - b);
  const perCall = (us: number | undefined) => (us === undefined ? undefined : round(us / Math.max(1, m.calls), 1));
  const row: Scenario = {
    name,
    callsPerSec: round((m.calls / m.elapsedMs) * 1000, 0),
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
    maxMs: round(sorted.at(-1) ?? 0),
    serverCpuUsPerCall: perCall(m.cpuUs)!,
    mainThreadUsPerCall: perCall(m.mainUs),
    otherThreadsUsPerCall: perCall(m.otherUs),
    mainThreadSleepsPerCall: m.mainSleeps === undefined ? undefined : round(m.mainSleeps / Math.max(1, m.calls), 2),
    rssMb: round(m.rssMb ?? 0, 1),
    calls: m.calls,
    errors: m.errors ?? 0,
    generatorCpuPct: m.generatorCpuUs === undefined ? undefined : round((m.generatorCpuUs / (m.elapsedMs * 1000)) * 100, 0),
  };
  scenarios.push(row);
  const threads = row.mainThreadUsPerCall === undefined ? "" : ` (main ${row.mainThreadUsPerCall}, other threads ${row.otherThreadsUsPerCall}; main asleep ${row.mainThreadSleepsPerCall}× a call)`;
  process.stdout.write(
    `${row.name.padEnd(50)} ${String(row.callsPerSec).padStart(7)}/s  p50 ${String(row.p50Ms).padStart(7)} ms  p99 ${String(row.p99Ms).padStart(7)} ms  cpu ${String(row.serverCpuUsPerCall).padStart(6)} µs/call${threads}${row.errors ? `  ERRORS ${row.errors}` : ""}\n`,
  );
  return row;
}

/** A stream of `events` events: a booking with events-1 payments. */
async function seedLongStream(database: string, bookingId: string, events: number): Promise<void> {
  const app = serviceApp(openSqliteStore({ path: database, synchronous: "NORMAL" }));
  await app.commands.bookRoom({ bookingId, roomId: bookingId, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "10000000.00", currency: "EUR" });
  for (let i = 1; i < events; i++) {
    await app.commands.recordPayment({ bookingId, paymentId: `seed-${i}`, amount: "0.01", currency: "EUR", paidAt: "2026-01-01T00:00:00Z" });
  }
  await app.close();
}

/**
 * RecordPayment over gRPC with one replica and with two, and in process, on the PostgreSQL
 * store on a throwaway cluster on this machine (the database server shares the two cores;
 * its CPU is not in the figures), when PostgreSQL is installed; outside the ratios.
 */
async function postgresScenarios(): Promise<{ oneReplicaPerSec: number; twoReplicasPerSec: number } | undefined> {
  const started = await startTestPostgres();
  if ("skip" in started) {
    process.stdout.write(`PostgreSQL: skipped (${started.skip})\n`);
    return undefined;
  }
  try {
    const url = await started.postgres.database("bench");
    const bookings = await seedBookings(await openPostgresStore({ connectionString: url }), "PG", BOOKINGS);
    const [one, two] = (await replicaScenarios(url, bookings, SECONDS, SERVER_NODE_OPTIONS)).map((r) => record(r.name, r));
    const app = serviceApp(await openPostgresStore({ connectionString: url }));
    try {
      await takeTurns([inProcessSide(app, "in process on PostgreSQL, 64 in flight", "pay", 64, bookings), inProcessSide(app, "in process on PostgreSQL, 1 in flight", "pay", 1, bookings)]);
    } finally {
      await app.close();
    }
    return { oneReplicaPerSec: one.callsPerSec, twoReplicasPerSec: two.callsPerSec };
  } finally {
    await started.postgres.stop();
  }
}

/** RSS of a process that has run 100k, then `total` commands in process (new bookings each). */
async function rssScenario(database: string, total: number) {
  const { stdout } = await run(process.execPath, ["--expose-gc", "--import", "tsx", join(HERE, "rss-run.ts"), database, String(total)], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as { checkpoints: Array<{ commands: number; rssMb: number; liveHeapMb: number }>; seconds: number };
}

/** A ratio of the run and its target: `value` at most or at least `bound`. */
interface Ratio {
  readonly value: number;
  readonly target: string;
  readonly met: boolean;
}
const atMost = (value: number, bound: number, why = ""): Ratio => ({ value: round(value, 3), target: `≤ ${round(bound, 3)}${why}`, met: value <= bound });
const atLeast = (value: number, bound: number, why = ""): Ratio => ({ value: round(value, 3), target: `≥ ${round(bound, 3)}${why}`, met: value >= bound });

/** How long each part of the run took, in seconds: the whole must stay under six minutes. */
const took: Record<string, number> = {};
async function part<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    took[name] = round((performance.now() - started) / 1000, 1);
  }
}

async function main() {
  const runStarted = performance.now();
  process.stdout.write(`Switchyard benchmark: ${SECONDS} s per scenario, synchronous=FULL, ${REQUEST_IDS} request ids, 2 cores\n\n`);
  const database = join(dir, "e2e.db");
  const bookings = await part("seeding", async () => {
    const ids = await seedBookings(database, "B", BOOKINGS);
    await seedLongStream(database, "LONG", 10_000);
    await seedLongStream(database, "SHORT", 1);
    return ids;
  });

  // Over gRPC, against the service as `npm start` runs it (read models, reactions, scheduler).
  const grpc = await part("gRPC", async () => {
    const server = await startServer(database, { nodeOptions: SERVER_NODE_OPTIONS });
    const onFile = foldedOnFile(database);
    try {
      await Promise.all(
        (["echo", "recordPayment", "bookRoom"] as const).map((rpc) => generate({ rpc, inFlight: 16, bookings, address: server.address, durationMs: WARM_UP_MS.service })),
      );
      // Each window waits, its CPU still counted, until the server has folded its events.
      const folded = onFile.wait;
      await folded();
      const [echo64, pay64, book64] = await takeTurns([
        grpcSide(server, "echo ceiling, 64 in flight", { rpc: "echo", inFlight: 64 }, folded),
        grpcSide(server, "RecordPayment over gRPC, 64 in flight", { rpc: "recordPayment", inFlight: 64, bookings }, folded),
        grpcSide(server, "BookRoom over gRPC, 64 in flight", { rpc: "bookRoom", inFlight: 64 }, folded),
      ]);
      const [echo1, pay1] = await takeTurns([
        grpcSide(server, "echo ceiling, 1 in flight", { rpc: "echo", inFlight: 1 }, folded),
        grpcSide(server, "RecordPayment over gRPC, 1 in flight", { rpc: "recordPayment", inFlight: 1, bookings }, folded),
      ]);
      const [short, long] = await takeTurns([
        grpcSide(server, "RecordPayment, 1-event stream, 1 in flight", { rpc: "recordPayment", inFlight: 1, bookings: ["SHORT"] }, folded),
        grpcSide(server, "RecordPayment, 10,000-event stream, 1 in flight", { rpc: "recordPayment", inFlight: 1, bookings: ["LONG"] }, folded),
      ]);
      return { echo64, pay64, book64, echo1, pay1, short, long };
    } finally {
      onFile.close();
      await server.stop();
    }
  });
  // What the generator could drive were it the limit: echo calls per second per core of its CPU.
  const generatorCapacityPerSec = Math.round(grpc.echo64.callsPerSec / Math.max(0.01, (grpc.echo64.generatorCpuPct ?? 100) / 100));
  process.stdout.write(`load generator capacity against echo: ~${generatorCapacityPerSec} calls/s at 100% of a core\n`);

  // In process against the raw ceilings, taking turns (the raw ones write their own file):
  // the pipeline alone against them, and the pipeline with the service's read models for
  // the one-in-flight bound over gRPC and for BookRoom against RecordPayment.
  const inProcess = await part("in process", async () => {
    const raw = openRawCeiling(join(dir, "raw.db"), BOOKINGS);
    // A file of its own: two writers on one file would leave each other turns (turn-taking.ts).
    const bareDatabase = join(dir, "bare.db");
    await seedBookings(bareDatabase, "B", BOOKINGS);
    const bare = pipelineApp(openSqliteStore({ path: bareDatabase, synchronous: "FULL" }));
    const serviceStore = openSqliteStore({ path: database, synchronous: "FULL" });
    const service = serviceApp(serviceStore);
    const settled = settledIn(serviceStore);
    try {
      await Promise.all([
        inProcessSide(bare, "warm-up", "pay", 8, bookings).window(WARM_UP_MS.inProcess),
        inProcessSide(service, "warm-up", "pay", 4, bookings).window(WARM_UP_MS.inProcess),
        inProcessSide(service, "warm-up", "book", 4, bookings).window(WARM_UP_MS.inProcess),
      ]);
      await settled();
      const [raw1, pay1, servicePay1] = await takeTurns([
        rawSide(raw, "raw SQLite append, 1 per transaction", 1),
        inProcessSide(bare, "in process, pipeline alone, 1 in flight", "pay", 1, bookings),
        inProcessSide(service, "in process, with read models, 1 in flight", "pay", 1, bookings, settled),
      ]);
      const [raw64, pay64] = await takeTurns([rawSide(raw, "raw SQLite append, 64 per transaction", 64), inProcessSide(bare, "in process, pipeline alone, 64 in flight", "pay", 64, bookings)]);
      const [servicePay64, serviceBook64] = await takeTurns([
        inProcessSide(service, "RecordPayment in process, with read models, 64 in flight", "pay", 64, bookings, settled),
        inProcessSide(service, "BookRoom in process, with read models, 64 in flight", "book", 64, bookings, settled),
      ]);
      return { raw1, pay1, servicePay1, raw64, pay64, servicePay64, serviceBook64 };
    } finally {
      raw.close();
      await Promise.all([bare.close(), service.close()]);
    }
  });

  // The RSS run measures memory, not speed: it runs beside the parts whose figures are
  // outside the ratios or compared within one window pair, never beside the ones above.
  // 300,000 by default: a million took 360 s here, its writer thread I/O-bound on this disk
  // (bench/README.md), more than the whole run may take; BENCH_RSS_COMMANDS=1000000 runs it.
  const rssTotal = Number(process.env.BENCH_RSS_COMMANDS ?? 300_000);
  const rssRun = part("RSS (beside PostgreSQL, schedules and read models)", () => rssScenario(join(dir, "rss.db"), rssTotal));
  rssRun.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  const postgres = await part("PostgreSQL", postgresScenarios);
  process.stdout.write("\nscheduled commands under load\n");
  const schedules = await part("schedules", () => scheduledLatenessBench(SECONDS));
  process.stdout.write(
    `${schedules.ran} of ${schedules.schedules} scheduled commands ran beside ${schedules.loadCommandsPerSec} commands/s: lateness p50 ${schedules.latenessMs.p50} ms, p99 ${schedules.latenessMs.p99} ms, max ${schedules.latenessMs.max} ms\n`,
  );
  process.stdout.write("\nread models\n");
  const readModels = await part("read models", () => readModelBench(SECONDS));
  const rss = await rssRun;
  const at100k = rss.checkpoints.find((c) => c.commands === 100_000) ?? rss.checkpoints[0];
  const atEnd = rss.checkpoints.at(-1)!;
  process.stdout.write(`\nRSS over ${rssTotal} in-process commands (BookRoom and RecordPayment) (${rss.seconds} s): ${rss.checkpoints.map((c) => `${c.commands}: ${c.rssMb} MB (live heap ${c.liveHeapMb} MB)`).join(", ")}\n`);

  process.stdout.write("\nsubscriptions\n");
  const subscriptions = await part("subscriptions", () => subscriptionBench(SECONDS));
  const sqliteCatchUp = subscriptions.catchUp.find((c) => c.store === "SQLite")!;
  const live100 = subscriptions.live.find((l) => l.subscribers === 100 && l.ratePerSec === 1000)!;

  const { echo64, pay64, book64, echo1, pay1, short, long } = grpc;
  const oneInFlightBound = echo1.p50Ms + inProcess.servicePay1.p50Ms + 0.15;
  const cpu64Bound = echo64.serverCpuUsPerCall + inProcess.raw64.serverCpuUsPerCall + 60;
  const ratios: Record<string, Ratio> = {
    // Issue 27: the cost of a command at low concurrency, against fair ceilings.
    oneInFlightP50Ms: atMost(pay1.p50Ms, oneInFlightBound, ` ms (echo p50 ${echo1.p50Ms} + in-process p50 ${inProcess.servicePay1.p50Ms} + 0.15)`),
    oneInFlightCpuVs64InFlight: atMost(pay1.serverCpuUsPerCall / pay64.serverCpuUsPerCall, 2.5),
    inProcessOneInFlightVsRawOnePerTransaction: atLeast(inProcess.pay1.callsPerSec / inProcess.raw1.callsPerSec, 0.6),
    cpuUsPerCallAt64: atMost(pay64.serverCpuUsPerCall, cpu64Bound, ` µs (echo ${echo64.serverCpuUsPerCall} + raw grouped ${inProcess.raw64.serverCpuUsPerCall} + 60)`),
    throughputVsEchoAt64: atLeast(pay64.callsPerSec / echo64.callsPerSec, 0.5),
    inProcess64VsRawGrouped: atLeast(inProcess.pay64.callsPerSec / inProcess.raw64.callsPerSec, 0.6),
    p99MsAt64: atMost(pay64.p99Ms, echo64.p99Ms + 10, ` ms (echo p99 ${echo64.p99Ms} + 10)`),
    longStreamVsShortStreamP50: atMost(long.p50Ms / short.p50Ms, 1.3),
    rssAtEndVs100k: atMost(atEnd.rssMb / at100k.rssMb, 1.2, ` (${atEnd.commands.toLocaleString("en")} commands against 100,000)`),
    // Issue 24: a command over two streams against one over one.
    bookRoomVsRecordPaymentCpuInProcess: atMost(inProcess.serviceBook64.serverCpuUsPerCall / inProcess.servicePay64.serverCpuUsPerCall, 1.5),
    bookRoomVsRecordPaymentCpuGrpc: atMost(book64.serverCpuUsPerCall / pay64.serverCpuUsPerCall, 1.5),
    // Issue 23: read models.
    recordPaymentWithVsWithoutInlineProjection: atLeast(readModels.payments.withProjectionPerSec / readModels.payments.withoutPerSec, 0.85),
    findDeepPageVsFirstPageP50: atMost(readModels.find.deepPage.p50Ms / readModels.find.firstPage.p50Ms, 2),
    findDeepPageVsFirstPageP99: atMost(readModels.find.deepPage.p99Ms / readModels.find.firstPage.p99Ms, 2),
    // A rebuild reads every event and writes every document: a quarter of the bare read is the aim
    // (the RSS run shares the machine with both sides, one after the other).
    rebuildVsCatchUpRead: atLeast(readModels.rebuild.rebuildPerSec / readModels.rebuild.readPerSec, 0.25),
    // Subscriptions and schedules.
    catchUpVsRawRead: atLeast(sqliteCatchUp.ratio, 0.5),
    liveP99MsAt100Subscribers: atMost(live100.appendToDelivery.p99Ms, 20),
    scheduledLatenessP99Ms: atMost(schedules.latenessMs.p99, 1000),
  };
  process.stdout.write(`\n${"ratio".padEnd(44)} ${"value".padStart(9)}  target\n`);
  for (const [key, r] of Object.entries(ratios)) process.stdout.write(`${key.padEnd(44)} ${String(r.value).padStart(9)}  ${r.target}  ${r.met ? "met" : "NOT MET"}\n`);
  took.total = round((performance.now() - runStarted) / 1000, 1);
  process.stdout.write(`\nseconds taken: ${Object.entries(took).map(([k, v]) => `${k} ${v}`).join(", ")}\n`);
  writeFileSync(
    join(HERE, "results.json"),
    JSON.stringify(
      {
        when: new Date().toISOString(),
        secondsPerScenario: SECONDS,
        serverNodeOptions: SERVER_NODE_OPTIONS,
        requestIds: REQUEST_IDS,
        generatorCapacityPerSec,
        secondsTaken: took,
        ratios,
        scenarios,
        replicas: postgres && { ...postgres, twoVsOne: round(postgres.twoReplicasPerSec / postgres.oneReplicaPerSec) },
        rss: rss.checkpoints,
        subscriptions,
        schedules,
        readModels,
      },
      null,
      2,
    ) + "\n",
  );
  process.stdout.write("\nwrote bench/results.json\n");
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
