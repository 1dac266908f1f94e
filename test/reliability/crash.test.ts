// Crash consistency: SIGKILL the server mid-load (32 commands in flight), restart it on the
// same SQLite file (and, as a second case, on the same PostgreSQL database), and check that every acknowledged command is stored exactly once with all
// of its events, nothing is half-written, and retrying every command with its request id
// has exactly-once effects. Three kills at different points of the load, SQLITE_SYNCHRONOUS=FULL.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { auditCommands, auditStore, bookCommand, clientsFor, launch, payCommand, pool, readDatabase, readPostgres, retryAndCheck, sendTracked, type Stored, type Tracked, scratch } from "../fixtures/reliability-harness.js";
import { itOnPostgres } from "../support/postgres.js";
import { reliabilityRow } from "../support/reliability.js";

const { dir, running } = scratch("switchyard-crash-");

const IN_FLIGHT = 32;
const PRICE = 10_000; // 100.00 EUR: one payment of 100.00 pays in full (two events)
/** Milliseconds of load before each SIGKILL. */
const KILL_AFTER = [150, 500, 1100];

it("SIGKILL mid-load loses no acknowledged command, writes none in part, and retries apply exactly once", async (t) => {
  const path = join(dir, "crash.db");
  await killRounds(t, { name: "FULL", env: { DATABASE_URL: `file:${path}`, SQLITE_SYNCHRONOUS: "FULL" }, read: async () => readDatabase(path) });
});

itOnPostgres("SIGKILL mid-load on PostgreSQL loses no acknowledged command, writes none in part, and retries apply exactly once", "crash", (url, t) =>
  killRounds(t, { name: "PostgreSQL", env: { DATABASE_URL: url }, read: () => readPostgres(url) }),
);

/** The store the server is restarted on, and how the test reads it directly. */
interface CrashStore {
  readonly name: string;
  readonly env: Record<string, string>;
  read(): Promise<Stored>;
}

async function killRounds(t: TestContext, store: CrashStore): Promise<void> {
  const env = store.env;
  const all: Tracked[] = [];
  const problems: string[] = [];
  let lost = 0;
  let unexpected = 0;
  const figures: string[] = [];

  let server = launch(env);
  running.push(server);
  let address = (await server.listening).grpcAddress;

  for (const [round, killAfter] of KILL_AFTER.entries()) {
    const clients = clientsFor(address);
    // Bookings to pay during the load, acknowledged before it starts.
    const seeds = Array.from({ length: 48 }, (_, i) => bookCommand(`r${round}-seed-${i}`, PRICE));
    const ledger = bookCommand(`r${round}-ledger`, 100_000_000);
    await pool([...seeds, ledger], 16, (c) => sendTracked(clients, c));
    assert.deepEqual([...seeds, ledger].filter((c) => !c.ack).map((c) => c.requestId), [], "set-up bookings acknowledged");
    const roundCommands: Tracked[] = [];

    const unpaid = [...seeds];
    let stop = false;
    let n = 0;
    const worker = async () => {
      while (!stop) {
        const i = n++;
        const pick = i % 3;
        let c: Tracked;
        if (pick === 0) c = bookCommand(`r${round}-new-${i}`, PRICE);
        else if (pick === 1 && unpaid.length > 0) {
          const b = unpaid.shift()!;
          c = payCommand(b.bookingId, `r${round}-full-${i}`, PRICE, true);
        } else c = payCommand(ledger.bookingId, `r${round}-part-${i}`, 100);
        roundCommands.push(c);
        await sendTracked(clients, c, 10_000);
        if (c.kind === "book" && c.ack) unpaid.push(c);
        if (c.failure && c.failure.code !== grpc.status.UNAVAILABLE) unexpected++;
      }
    };
    const load = Array.from({ length: IN_FLIGHT }, worker);
    await sleep(killAfter);
    // On a slow machine the load may not have got going yet: kill once some work is acknowledged.
    for (const until = Date.now() + 20_000; roundCommands.filter((c) => c.ack).length < 16 && Date.now() < until; ) await sleep(10);
    stop = true;
    const killedWith = await server.kill("SIGKILL");
    await Promise.all(load);
    clients.close();
    assert.equal(killedWith, "SIGKILL");
    all.push(...seeds, ledger, ...roundCommands);
    const acknowledged = roundCommands.filter((c) => c.ack).length;
    const cut = roundCommands.length - acknowledged;

    // Restart on the same file: the store must show the acknowledged work and nothing partial.
    server = launch(env);
    running.push(server);
    address = (await server.listening).grpcAddress;
    const before = await store.read();
    const storeProblems = auditStore(before);
    const commandAudit = auditCommands(before, all);
    problems.push(...storeProblems.map((p) => `after kill ${round + 1}: ${p}`), ...commandAudit.problems.map((p) => `after kill ${round + 1}: ${p}`));
    lost += commandAudit.lost;
    const committedUnacked = roundCommands.filter((c) => !c.ack && before.requests.has(c.requestId)).length;

    // Retry every command of the round with its original request id.
    const retryClients = clientsFor(address);
    const retryProblems: string[] = [];
    await pool(roundCommands, 16, async (c) => {
      const problem = await retryAndCheck(retryClients, c, before);
      if (problem) retryProblems.push(problem);
    });
    retryClients.close();
    problems.push(...retryProblems.map((p) => `retry after kill ${round + 1}: ${p}`));
    const final = await store.read();
    problems.push(...auditStore(final).map((p) => `after retries ${round + 1}: ${p}`));
    const finalAudit = auditCommands(final, all);
    problems.push(...finalAudit.problems.map((p) => `after retries ${round + 1}: ${p}`));
    for (const c of roundCommands) {
      // Every command is now applied, exactly once, with all of its events.
      const written = final.byRequest.get(c.requestId) ?? [];
      if (!final.requests.has(c.requestId) || written.length !== c.writes.length) {
        problems.push(`after retries ${round + 1}: ${c.requestId} has ${written.length} event(s), expected ${c.writes.length}`);
      }
      if (!c.ack && c.retried && c.retried.replayed !== before.requests.has(c.requestId)) {
        problems.push(`after retries ${round + 1}: ${c.requestId} replayed=${c.retried.replayed} but committed before the retry=${before.requests.has(c.requestId)}`);
      }
    }
    const twoEvents = roundCommands.filter((c) => c.writes.length === 2 && (before.byRequest.get(c.requestId)?.length ?? 0) > 0).length;
    figures.push(`kill ${round + 1} after ${killAfter} ms: ${roundCommands.length} sent, ${acknowledged} acked, ${cut} cut (${committedUnacked} had committed), ${twoEvents} two-event payments stored`);
    assert.ok(acknowledged > 0, `round ${round + 1}: load was running before the kill`);
  }

  const tried = all.length + all.filter((c) => c.retried).length;
  t.diagnostic(figures.join("; "));
  t.diagnostic(
    reliabilityRow({
      scenario: `SIGKILL mid-load, restart (3 kills, 32 in flight, ${store.name})`,
      callsTried: tried,
      failures: problems.length + unexpected,
      dataLost: lost,
      note: `${all.filter((c) => c.ack).length} acknowledged, ${all.filter((c) => !c.ack).length} cut by a kill; ${problems.length === 0 ? "every retry exactly-once" : `${problems.length} problems`}`,
    }),
  );
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problem(s)`);
  assert.equal(lost, 0, "no acknowledged command lost or duplicated");
  assert.equal(unexpected, 0, "calls cut by the kill fail only with UNAVAILABLE");
  await server.kill("SIGTERM");
}
