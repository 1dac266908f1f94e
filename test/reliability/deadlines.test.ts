// Deadlines: commands sent with 1–5 ms deadlines while the server is under load. Each is
// either applied whole or not at all, and retrying it with the same request id (normal
// deadline) tells which: replayed → it had been applied; otherwise it is applied now.
// The SQLite file then holds every command exactly once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  auditCommands,
  auditStore,
  bookCommand,
  clientsFor,
  launch,
  payCommand,
  pool,
  readDatabase,
  retryAndCheck,
  sendTracked,
  type Launched,
  type Tracked,
} from "../fixtures/reliability-harness.js";
import { reliabilityRow } from "../support/reliability.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-deadlines-"));
let server: Launched | undefined;
after(async () => {
  await server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const PRICE = 10_000;
const SHORT_CALLS = 1500;
const BACKGROUND = 8;
const CHANNELS = 4;

it("calls with 1–5 ms deadlines under load are applied whole or not at all, and a retry tells which", async (t) => {
  const databasePath = join(dir, "deadlines.db");
  server = launch({ DATABASE_URL: `file:${databasePath}` });
  const address = (await server.listening).grpcAddress;
  const clients = clientsFor(address);

  const seeds = Array.from({ length: 500 }, (_, i) => bookCommand(`seed-${i}`, PRICE));
  const ledger = bookCommand("ledger", 100_000_000);
  await pool([...seeds, ledger], 16, (c) => sendTracked(clients, c));
  assert.deepEqual([...seeds, ledger].filter((c) => !c.ack).map((c) => c.requestId), [], "set-up bookings acknowledged");

  // Background load with normal deadlines keeps the server busy while the short calls run.
  let loadDone = false;
  const background: Tracked[] = [];
  const backgroundLoad = Array.from({ length: BACKGROUND }, async (_, w) => {
    for (let i = 0; !loadDone; i++) {
      const c = i % 2 === 0 ? bookCommand(`bg-${w}-${i}`, PRICE) : payCommand(ledger.bookingId, `bg-${w}-${i}`, 100);
      background.push(c);
      await sendTracked(clients, c, 10_000);
    }
  });

  // Short-deadline calls: new bookings, payments in full (two events) and small payments.
  const short: Tracked[] = Array.from({ length: SHORT_CALLS }, (_, i) => {
    if (i % 3 === 0) return bookCommand(`short-${i}`, PRICE);
    if (i % 3 === 1) return payCommand(seeds[Math.floor(i / 3)].bookingId, `short-full-${i}`, PRICE, true);
    return payCommand(ledger.bookingId, `short-part-${i}`, 100);
  });
  // Each abandoned call costs its connection one RST_STREAM, and Node's HTTP/2 server closes
  // a connection that sends more than ~1000 in a burst (nghttp2's rapid-reset limit: 1000,
  // then 33/s), failing its calls in flight with INTERNAL. So the short calls are spread
  // over connections of their own, each well under that burst.
  const channels = Array.from({ length: CHANNELS }, () => clientsFor(address, { ownConnection: true }));
  let n = 0;
  await pool(short, 64, (c) => {
    const i = n++;
    return sendTracked(channels[i % CHANNELS], c, 1 + (i % 5));
  });
  for (const c of channels) c.close();
  loadDone = true;
  await Promise.all(backgroundLoad);

  const unexpected = [...short, ...background].filter(
    (c) => c.failure && c.failure.code !== grpc.status.DEADLINE_EXCEEDED,
  );
  const timedOut = short.filter((c) => c.failure?.code === grpc.status.DEADLINE_EXCEEDED);

  // Retry every short call at once with a normal deadline (some originals may still be running).
  const problems: string[] = [];
  const before = readDatabase(databasePath);
  await pool(short, 32, async (c) => {
    const problem = await retryAndCheck(clients, c, before);
    if (problem) problems.push(problem);
  });
  clients.close();

  const stored = readDatabase(databasePath);
  problems.push(...auditStore(stored));
  const audit = auditCommands(stored, [...seeds, ledger, ...background, ...short]);
  problems.push(...audit.problems);
  let appliedBefore = 0;
  for (const c of short) {
    const record = stored.requests.get(c.requestId);
    const written = stored.byRequest.get(c.requestId) ?? [];
    // Applied exactly once, and the retry's answer is that one application.
    if (!record || written.length !== c.writes.length) problems.push(`${c.requestId}: ${written.length} event(s) stored, expected ${c.writes.length}`);
    else if (c.retried && record.commandId !== c.retried.commandId) problems.push(`${c.requestId}: retry answered ${c.retried.commandId}, stored ${record.commandId}`);
    if (!c.ack && c.retried?.replayed) appliedBefore++;
  }
  t.diagnostic(
    `${short.length} short calls: ${short.filter((c) => c.ack).length} answered in time, ${timedOut.length} DEADLINE_EXCEEDED ` +
      `(${appliedBefore} of them had been applied, retry replayed; ${timedOut.length - appliedBefore} applied by the retry); ${background.length} background calls`,
  );
  t.diagnostic(
    reliabilityRow({
      scenario: "deadlines 1–5 ms under load, retry same request id",
      callsTried: short.length * 2 + background.length,
      failures: problems.length + unexpected.length,
      dataLost: audit.lost,
      note: `${timedOut.length} DEADLINE_EXCEEDED: ${appliedBefore} had been applied (replayed), ${timedOut.length - appliedBefore} applied on retry; none twice`,
    }),
  );
  assert.deepEqual(unexpected.map((c) => `${c.requestId}: ${grpc.status[c.failure!.code]} ${c.failure!.message}`), [], "short calls fail only with DEADLINE_EXCEEDED");
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problem(s)`);
  assert.equal(audit.lost, 0);
  assert.ok(timedOut.length > 0, "some calls ran out of time");
  await server.kill("SIGTERM");
});
