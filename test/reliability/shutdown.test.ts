// Shutdown timing (test/e2e/lifecycle covers draining itself): SIGTERM under load must end the
// process within SHUTDOWN_TIMEOUT_MS (default 10 s), also when the calls in flight cannot
// finish because another process holds the database's write lock.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { auditCommands, auditStore, bookCommand, clientsFor, launch, readDatabase, sendTracked, type Tracked, scratch } from "../fixtures/reliability-harness.js";
import { reliabilityRow } from "../support/reliability.js";

const { dir, running } = scratch("switchyard-shutdown-");

const SHUTDOWN_TIMEOUT_MS = 10_000; // the default, left unset in the environment

/** Runs 32 clients booking new rooms until told to stop; returns every command sent. */
function loadOn(address: string) {
  const clients = clientsFor(address);
  const sent: Tracked[] = [];
  let stop = false;
  let n = 0;
  const workers = Array.from({ length: 32 }, async () => {
    while (!stop) {
      const c = bookCommand(`b-${n++}`, 10_000);
      sent.push(c);
      await sendTracked(clients, c, 30_000);
      if (c.failure) return; // refused (draining) or cut: this client is done
    }
  });
  return {
    sent,
    async finish() {
      stop = true;
      await Promise.all(workers);
      clients.close();
    },
  };
}

describe("shutdown timing", () => {
  it("SIGTERM under load (32 clients): exit 0 within SHUTDOWN_TIMEOUT_MS", async (t) => {
    const databasePath = join(dir, "load.db");
    const server = launch({ DATABASE_URL: `file:${databasePath}` });
    running.push(server);
    const load = loadOn((await server.listening).grpcAddress);
    await sleep(700);
    const inFlight = load.sent.filter((c) => !c.ack && !c.failure).length;
    const signalled = Date.now();
    server.child.kill("SIGTERM");
    const code = await server.exited;
    const tookMs = Date.now() - signalled;
    await load.finish();

    const stored = readDatabase(databasePath);
    const problems = [...auditStore(stored)];
    const audit = auditCommands(stored, load.sent);
    problems.push(...audit.problems);
    const wrong = load.sent.filter((c) => c.failure && c.failure.code !== grpc.status.UNAVAILABLE);
    t.diagnostic(`exit ${code} ${tookMs} ms after SIGTERM with ${inFlight} calls in flight`);
    t.diagnostic(
      reliabilityRow({
        scenario: "shutdown: SIGTERM under load, time to exit",
        callsTried: load.sent.length,
        failures: problems.length + wrong.length + (code === 0 && tookMs < SHUTDOWN_TIMEOUT_MS ? 0 : 1),
        dataLost: audit.lost,
        note: `exit ${code} after ${tookMs} ms (limit ${SHUTDOWN_TIMEOUT_MS} ms), ${inFlight} in flight at SIGTERM`,
      }),
    );
    assert.equal(code, 0);
    assert.ok(tookMs < SHUTDOWN_TIMEOUT_MS, `exited ${tookMs} ms after SIGTERM`);
    assert.ok(inFlight > 0, "calls were in flight at SIGTERM");
    assert.deepEqual(wrong.map((c) => `${c.requestId}: ${grpc.status[c.failure!.code]}`), []);
    assert.deepEqual(problems.slice(0, 20), []);
  });

  it("SIGTERM while another process holds the write lock (calls in flight cannot finish): exit within SHUTDOWN_TIMEOUT_MS, stuck calls UNAVAILABLE", async (t) => {
    const databasePath = join(dir, "locked.db");
    const server = launch({ DATABASE_URL: `file:${databasePath}` });
    running.push(server);
    const load = loadOn((await server.listening).grpcAddress);
    await sleep(300);
    const locker = new Database(databasePath);
    locker.exec("BEGIN IMMEDIATE");
    let tookMs: number;
    let code: number | string;
    let blocked: number;
    try {
      await sleep(500);
      blocked = load.sent.filter((c) => !c.ack && !c.failure).length;
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      code = await server.exited;
      tookMs = Date.now() - signalled;
    } finally {
      locker.exec("ROLLBACK");
      locker.close();
    }
    await load.finish();

    const stored = readDatabase(databasePath);
    const problems = [...auditStore(stored)];
    const audit = auditCommands(stored, load.sent);
    problems.push(...audit.problems);
    const refused = load.sent.filter((c) => c.failure);
    const wrong = refused.filter((c) => c.failure!.code !== grpc.status.UNAVAILABLE);
    const busy = refused.filter((c) => c.failure!.errorInfo?.reason === "STORE_UNAVAILABLE" && /locked/.test(c.failure!.message));
    for (const c of refused) if (stored.requests.has(c.requestId)) problems.push(`${c.requestId}: refused but written`);
    t.diagnostic(`exit ${code} ${tookMs} ms after SIGTERM; ${blocked} calls waiting on the lock, ${busy.length} answered UNAVAILABLE (locked)`);
    t.diagnostic(
      reliabilityRow({
        scenario: "shutdown: SIGTERM with write lock held elsewhere",
        callsTried: load.sent.length,
        failures: problems.length + wrong.length + (code === 0 && tookMs < SHUTDOWN_TIMEOUT_MS ? 0 : 1),
        dataLost: audit.lost,
        note: `exit ${code} after ${tookMs} ms (limit ${SHUTDOWN_TIMEOUT_MS} ms); ${busy.length} stuck calls UNAVAILABLE, none written`,
      }),
    );
    assert.equal(code, 0);
    assert.ok(tookMs < SHUTDOWN_TIMEOUT_MS, `exited ${tookMs} ms after SIGTERM`);
    assert.ok(blocked > 0 && busy.length > 0, "calls were stuck on the lock and answered UNAVAILABLE");
    assert.deepEqual(wrong.map((c) => `${c.requestId}: ${grpc.status[c.failure!.code]} ${c.failure!.message}`), []);
    assert.deepEqual(problems.slice(0, 20), []);
  });
});
