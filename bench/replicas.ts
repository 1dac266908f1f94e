// Replicas in `npm run bench` (and alone: `npm run bench:replicas`): RecordPayment over gRPC on
// one PostgreSQL database, served by one replica and by two, each with its own load generator.
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { startTestPostgres } from "../test/support/postgres.js";
import { generate, processStats, seedBookings, startServer } from "./harness.js";
import type { LoadFigures } from "./load-generator.js";

/** Calls in flight in both scenarios: all on the one replica, or half on each of two. */
const IN_FLIGHT = 64;
/** Windows each scenario is split into, taking turns with the other. */
const ROUNDS = 3;

/** What one scenario measured, pooled over its windows and replicas. */
export interface ReplicaFigures {
  readonly name: string;
  readonly replicas: number;
  readonly calls: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedMs: number;
  /** utime+stime of the replicas' processes, added up (the database server's is not in it). */
  readonly cpuUs: number;
  readonly latenciesMs: number[];
  /** The largest peak RSS of the replicas. */
  readonly rssMb: number;
}

/**
 * Starts two replicas on `databaseUrl` and measures RecordPayment into `bookings` with the
 * first alone and with both, in ROUNDS alternating windows of `seconds / ROUNDS` (this
 * machine's speed drifts; taking turns touches both sides alike). With two, a generator per
 * replica sends half the calls, as a client balancing over them would; they run at once and
 * a window lasts until the slower one ends.
 */
export async function replicaScenarios(databaseUrl: string, bookings: readonly string[], seconds: number, nodeOptions: readonly string[] = []): Promise<ReplicaFigures[]> {
  const servers = await Promise.all([startServer(databaseUrl, { nodeOptions }), startServer(databaseUrl, { nodeOptions })]);
  try {
    const scenarios = [1, 2].map((replicas) => ({
      replicas,
      name: `RecordPayment over gRPC on PostgreSQL, ${replicas} replica${replicas > 1 ? "s" : ""}, ${IN_FLIGHT} in flight`,
      pooled: { calls: 0, errors: 0, firstError: undefined as string | undefined, elapsedMs: 0, cpuUs: 0, latenciesMs: [] as number[] },
    }));
    const window = async (replicas: number, durationMs: number): Promise<{ figures: LoadFigures[]; cpuUs: number; elapsedMs: number }> => {
      const used = servers.slice(0, replicas);
      const before = used.map((s) => processStats(s.pid).cpuUs);
      const figures = await Promise.all(used.map((s) => generate({ rpc: "recordPayment", address: s.address, inFlight: IN_FLIGHT / replicas, durationMs, bookings })));
      const cpuUs = used.reduce((sum, s, i) => sum + processStats(s.pid).cpuUs - before[i], 0);
      // The generators start at once; the window is the longer of their own measured times (their processes' start-up left out).
      return { figures, cpuUs, elapsedMs: Math.max(...figures.map((f) => f.elapsedMs)) };
    };
    for (const { replicas } of scenarios) await window(replicas, 1000); // warm-up: connections, caches, JIT
    for (let round = 0; round < ROUNDS; round++) {
      for (const scenario of scenarios) {
        const { figures, cpuUs, elapsedMs } = await window(scenario.replicas, (seconds * 1000) / ROUNDS);
        const p = scenario.pooled;
        p.elapsedMs += elapsedMs;
        p.cpuUs += cpuUs;
        for (const f of figures) {
          p.calls += f.calls;
          p.errors += f.errors;
          p.firstError ??= f.firstError;
          for (const ms of f.latenciesMs) p.latenciesMs.push(ms);
        }
      }
    }
    const rssMb = Math.max(...servers.map((s) => processStats(s.pid).peakMb));
    return scenarios.map(({ name, replicas, pooled }) => ({ name, replicas, ...pooled, rssMb }));
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 6);
  const started = await startTestPostgres();
  if ("skip" in started) {
    process.stdout.write(`replicas on PostgreSQL: skipped (${started.skip})\n`);
  } else {
    try {
      const url = await started.postgres.database("bench_replicas");
      const bookings = await seedBookings(await openPostgresStore({ connectionString: url }), "PG", Number(process.env.BENCH_BOOKINGS ?? 1000));
      for (const s of await replicaScenarios(url, bookings, seconds)) {
        const sorted = s.latenciesMs.sort((a, b) => a - b);
        const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]?.toFixed(2);
        process.stdout.write(
          `${s.name}: ${Math.round((s.calls / s.elapsedMs) * 1000)}/s, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, server cpu ${(s.cpuUs / Math.max(1, s.calls)).toFixed(1)} µs/call${s.errors ? `, ERRORS ${s.errors} (${s.firstError})` : ""}\n`,
        );
      }
    } finally {
      await started.postgres.stop();
    }
  }
}
