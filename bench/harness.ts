// What the benchmark's scripts share: the service process under load, the load generator's
// process, /proc figures of a process and its threads, and the bookings payments go into.
import { execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { bookingCommands, bookingProjections } from "../src/domain/booking/index.js";
import { createApp } from "../src/pipeline/app.js";
import type { EventStore } from "../src/store/event-store.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { LoadFigures, LoadPlan } from "./load-generator.js";

const run = promisify(execFile);
const HERE = import.meta.dirname;

/** utime+stime in µs from a /proc stat line (a process's or one thread's). */
function cpuUsOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

/** utime+stime of a process in µs (every thread), and its RSS and peak RSS in MB, from /proc. */
export function processStats(pid: number): { cpuUs: number; rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuUs: cpuUsOfStat(readFileSync(`/proc/${pid}/stat`, "utf8")), rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/** utime+stime in µs of each thread of a process, by thread id (the main thread's is the pid). */
export function threadCpu(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(tid, cpuUsOfStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/**
 * utime+stime in µs of a process's main thread and of all its other threads together, and
 * how often its main thread has gone to sleep (voluntary context switches).
 */
export function mainThreadCpu(pid: number): { mainUs: number; otherUs: number; mainSleeps: number } {
  let mainUs = 0;
  let otherUs = 0;
  for (const [tid, us] of threadCpu(pid)) {
    if (tid === String(pid)) mainUs = us;
    else otherUs += us;
  }
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8");
  return { mainUs, otherUs, mainSleeps: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) };
}

/** Extra Node or V8 options for the service process, to measure a setting (`BENCH_SERVER_NODE_OPTIONS="--max-semi-space-size=64"`). */
export const SERVER_NODE_OPTIONS: readonly string[] = (process.env.BENCH_SERVER_NODE_OPTIONS ?? "").split(" ").filter(Boolean);

/** A running bench server. */
export interface BenchServer {
  readonly address: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the bench server (`bench-server.ts`, the service's own wiring) on a database file
 * (or a postgres:// URL) and waits for its ports. `env` adds to its environment; `nodeOptions` go before the script.
 */
export async function startServer(database: string, options: { env?: Record<string, string>; nodeOptions?: readonly string[] } = {}): Promise<BenchServer> {
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), "--import", "tsx", join(HERE, "bench-server.ts")], {
    env: {
      ...process.env,
      ...options.env,
      GRPC_PORT: "0",
      HTTP_PORT: "0",
      DATABASE_URL: database.startsWith("postgres") ? database : `file:${database}`,
      SQLITE_SYNCHRONOUS: "FULL",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let text = "";
    child.stderr!.on("data", (chunk) => {
      text += chunk;
      const match = /"grpcPort":(\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`bench server exited ${code}: ${text}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    address: `127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Runs the load generator in its own process. */
export async function generate(plan: LoadPlan): Promise<LoadFigures> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", join(HERE, "load-generator.ts"), JSON.stringify(plan)], {
    maxBuffer: 512 * 1024 * 1024,
  });
  return JSON.parse(stdout) as LoadFigures;
}

/** Books `count` rooms in process so payment scenarios have bookings to pay into: in an SQLite file, or in the store given. */
export async function seedBookings(database: string | EventStore, prefix: string, count: number): Promise<string[]> {
  const store = typeof database === "string" ? openSqliteStore({ path: database, synchronous: "NORMAL" }) : database;
  // With the service's read models, so the service finds them built and has nothing to rebuild.
  const app = createApp({ store, commands: bookingCommands, projections: bookingProjections });
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await Promise.all(
    ids.map((bookingId) =>
      app.commands.bookRoom({ bookingId, roomId: bookingId, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "10000000.00", currency: "EUR" }),
    ),
  );
  await app.close();
  return ids;
}
