import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createApp } from "../../src/pipeline/app.js";
import { openPostgresLedger } from "../../src/reactions/postgres-ledger.js";
import { startReactionRunner } from "../../src/reactions/runner.js";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { eventually } from "../support/eventually.js";
import { startTestPostgres } from "../support/postgres.js";
import { add, addOnPing, ping, recorder } from "./tally-domain.js";

const started = await startTestPostgres();
const url = "postgres" in started ? await started.postgres.database("reactions") : "";
if ("skip" in started) {
  it("reaction runners on PostgreSQL", { skip: started.skip }, () => {});
} else {
  after(() => started.postgres.stop());

  /** One replica: its own store, app and ledger on the shared database, and a runner. */
  async function replica(owner: string, heard: ReturnType<typeof recorder>) {
    const store = await openPostgresStore({ connectionString: url });
    const app = createApp({ store, commands: [add, ping] });
    const ledger = openPostgresLedger(url);
    const notes: string[] = [];
    const runner = startReactionRunner({
      app,
      reaction: addOnPing,
      ports: { recorder: heard.port },
      ledger,
      deadLetters: async () => assert.fail("no dead letters expected"),
      maxDepth: 10,
      maxAttempts: 3,
      // Long enough that a stalled holder keeps it on a loaded machine: "exactly one" counts every holder.
      leaseMs: 3000,
      owner,
      backoffMs: () => 10,
      onNote: (message) => notes.push(message),
    });
    return {
      app,
      notes,
      holds: () => notes.includes("reaction runner holds the lease"),
      stop: async () => {
        await runner.stop();
        await ledger.close();
        await app.close();
      },
    };
  }

  describe("reaction runners on two PostgreSQL replicas", () => {
    it("run the reaction in one replica at a time, the other taking over and resuming from the checkpoint without acting twice", async () => {
      const heard = recorder();
      const a = await replica("replica-a", heard);
      const b = await replica("replica-b", heard);
      for (const [i, r] of [a, b, a, b].entries()) assert.equal((await r.app.commands.ping({ tallyId: `p${i}` })).status, "accepted");
      await eventually("four pings handled", async () => heard.calls.length === 4);
      assert.equal(Number(a.holds()) + Number(b.holds()), 1, "exactly one replica ran the reaction");
      const [holder, other] = a.holds() ? [a, b] : [b, a];
      await holder.stop();
      assert.equal((await other.app.commands.ping({ tallyId: "p4" })).status, "accepted");
      await eventually("the other replica took over", async () => other.holds() && heard.calls.length === 5);
      await sleep(300);
      for (let i = 0; i < 5; i++) assert.equal((await other.app.store.readStream("default", `tally-p${i}-added`)).length, 1, `p${i} tallied once`);
      assert.deepEqual(heard.calls.map((c) => c.tallyId).sort(), ["p0", "p1", "p2", "p3", "p4"]);
      await other.stop();
    });
  });
}
