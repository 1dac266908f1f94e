// `npm run bench:store-cost`: how much of a RecordPayment's server CPU the event store's
// writes are. Two service processes: one as `npm start` runs it, one whose appends write
// nothing (free-appends.ts). Echo and RecordPayment at 64 in flight on each, taking turns
// window by window, with each thread's CPU per call from /proc: the main thread, the busiest
// other thread (the store's writer, in the real service), and the rest (V8's GC helpers,
// libuv's pool). See bench/HISTORY.md, tenth round.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate, seedBookings, startServer, threadCpu, type BenchServer } from "./harness.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 9);
const ROUNDS = 3;
const dir = mkdtempSync(join(tmpdir(), "switchyard-store-cost-"));

interface Case {
  readonly name: string;
  readonly server: BenchServer;
  readonly rpc: "echo" | "recordPayment";
  calls: number;
  elapsedMs: number;
  main: number;
  busiest: number;
  rest: number;
}

async function main() {
  const bookings = await seedBookings(join(dir, "real.db"), "B", 1000);
  await seedBookings(join(dir, "free.db"), "B", 1000);
  const real = await startServer(join(dir, "real.db"));
  const free = await startServer(join(dir, "free.db"), { env: { BENCH_FREE_APPENDS: "1" } });
  try {
    const measured = (name: string, server: BenchServer, rpc: Case["rpc"]): Case => ({ name, server, rpc, calls: 0, elapsedMs: 0, main: 0, busiest: 0, rest: 0 });
    const cases = [
      measured("echo", real, "echo"),
      measured("RecordPayment", real, "recordPayment"),
      measured("echo, free-append server", free, "echo"),
      measured("RecordPayment, free appends", free, "recordPayment"),
    ];
    const plan = (c: Case, durationMs: number) => ({ rpc: c.rpc, inFlight: 64, bookings, address: c.server.address, durationMs });
    for (const c of cases) await generate(plan(c, 1500));
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) {
        const before = threadCpu(c.server.pid);
        const figures = await generate(plan(c, (SECONDS * 1000) / ROUNDS));
        if (figures.errors > 0) throw new Error(`${c.name}: ${figures.errors} calls failed, first: ${figures.firstError}`);
        const used = [...threadCpu(c.server.pid)].map(([tid, us]) => [tid, us - (before.get(tid) ?? 0)] as const);
        const main = used.find(([tid]) => tid === String(c.server.pid))?.[1] ?? 0;
        const others = used.filter(([tid]) => tid !== String(c.server.pid)).map(([, us]) => us);
        const busiest = Math.max(0, ...others);
        c.calls += figures.calls;
        c.elapsedMs += figures.elapsedMs;
        c.main += main;
        c.busiest += busiest;
        c.rest += others.reduce((sum, us) => sum + us, 0) - busiest;
      }
    }
    const perCall = (us: number, c: Case) => (us / c.calls).toFixed(1).padStart(7);
    const total = (c: Case) => c.main + c.busiest + c.rest;
    process.stdout.write(`server CPU µs per call, 64 in flight, ${SECONDS} s each in ${ROUNDS} windows\n\n`);
    process.stdout.write(`${"".padEnd(30)} ${"calls/s".padStart(8)} ${"total".padStart(7)} ${"main".padStart(7)} ${"busiest".padStart(7)} ${"rest".padStart(7)}\n`);
    for (const c of cases) {
      process.stdout.write(
        `${c.name.padEnd(30)} ${String(Math.round((c.calls / c.elapsedMs) * 1000)).padStart(8)} ${perCall(total(c), c)} ${perCall(c.main, c)} ${perCall(c.busiest, c)} ${perCall(c.rest, c)}\n`,
      );
    }
    const ratio = (a: Case, b: Case) => (total(a) / a.calls / (total(b) / b.calls)).toFixed(2);
    process.stdout.write(`\nRecordPayment / echo: ${ratio(cases[1], cases[0])} as served; ${ratio(cases[3], cases[2])} with free appends\n`);
  } finally {
    await Promise.all([real.stop(), free.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
