import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { TRUSTED_LOCAL } from "../../src/kernel/identity.js";
import { createApp } from "../../src/pipeline/app.js";
import { scheduledDeadLetters, type ReactionDeadLetter } from "../../src/reactions/dead-letter.js";
import type { ReactionLedger } from "../../src/reactions/ledger.js";
import { startReactionRunner, type ReactionRunnerOptions } from "../../src/reactions/runner.js";
import { openSqliteLedger } from "../../src/reactions/sqlite-ledger.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { eventually } from "../support/eventually.js";
import { add, addForever, addOnPing, ping, recorder, type Ports } from "./tally-domain.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A database file with a tally app and a ledger on it; reopened by calling again with the same path. */
function open(path = join(dirs[dirs.push(mkdtempSync(join(tmpdir(), "switchyard-reactions-"))) - 1], "store.db"), requestRetentionMs?: number) {
  const store = openSqliteStore({ path, requestRetentionMs });
  const app = createApp({ store, commands: [add, ping] });
  const ledger = openSqliteLedger(path);
  return {
    path,
    app,
    ledger,
    ping: async (tallyId: string, tenant = "default") => {
      const result = await app.commands.ping({ tallyId }, { identity: { ...TRUSTED_LOCAL, tenant }, correlationId: `corr-${tallyId}` });
      assert.equal(result.status, "accepted");
      return result;
    },
    tallied: async (tallyId: string, tenant = "default") => (await store.readStream(tenant, `tally-${tallyId}`)).filter((e) => e.type === "Tallied"),
    close: async () => {
      await ledger.close();
      await app.close();
    },
  };
}

function run(db: ReturnType<typeof open>, options: Partial<ReactionRunnerOptions> & { ports: Ports }) {
  const letters: ReactionDeadLetter[] = [];
  const notes: string[] = [];
  const runner = startReactionRunner({
    app: db.app,
    reaction: addOnPing,
    ledger: db.ledger,
    deadLetters: async (letter) => void letters.push(letter),
    maxDepth: 10,
    maxAttempts: 3,
    // Long enough that a stalled holder keeps it on a loaded machine.
    leaseMs: 3000,
    backoffMs: () => 10,
    onNote: (message) => notes.push(message),
    ...options,
  });
  return { runner, letters, notes };
}

describe("reaction runner on a SQLite file", () => {
  it("issues each command once in the event's tenant, with the event's correlation id and the event as the cause", async () => {
    const db = open();
    const heard = recorder();
    const { runner } = run(db, { ports: { recorder: heard.port } });
    const pinged = await db.ping("t1", "hotel-a");
    await db.ping("t2", "hotel-b");
    await eventually("both pings handled", async () => heard.calls.length === 2);
    await runner.stop();

    const [added] = await db.tallied("t1-added", "hotel-a");
    const pingEventId = pinged.status === "accepted" ? pinged.events[0].id : "";
    assert.equal(added.metadata.correlationId, "corr-t1");
    assert.equal(added.metadata.commandCausationId, pingEventId);
    assert.equal(added.metadata.requestId, `test.add-on-ping:${pingEventId}:0`);
    assert.equal(added.metadata.reactionDepth, 1);
    assert.equal(added.metadata.tenant, "hotel-a");
    assert.equal((await db.tallied("t2-added", "hotel-b")).length, 1);
    assert.deepEqual((await db.tallied("t2-added", "hotel-a")).length, 0, "nothing written in another tenant");
    assert.deepEqual(heard.calls.map((c) => [c.tallyId, c.tenant, c.key]).sort(), [
      ["t1", "hotel-a", `test.add-on-ping:${pingEventId}:1`],
      ["t2", "hotel-b", heard.calls.find((c) => c.tallyId === "t2")!.key],
    ]);
    await db.close();
  });

  it("resumes from its checkpoint after the store is closed and reopened, without acting twice", async () => {
    const first = open();
    const heardBefore = recorder();
    const one = run(first, { ports: { recorder: heardBefore.port } });
    for (const id of ["a", "b", "c"]) await first.ping(id);
    await eventually("three pings handled", async () => heardBefore.calls.length === 3);
    await one.runner.stop();
    await first.close();

    const second = open(first.path);
    await second.ping("d");
    await second.ping("e");
    const heardAfter = recorder();
    const two = run(second, { ports: { recorder: heardAfter.port } });
    await eventually("two new pings handled", async () => heardAfter.calls.length === 2);
    await sleep(300); // time enough for a redelivery to act
    await two.runner.stop();
    assert.deepEqual(heardAfter.calls.map((c) => c.tallyId).sort(), ["d", "e"]);
    for (const id of ["a", "b", "c", "d", "e"]) assert.equal((await second.tallied(`${id}-added`)).length, 1, `${id} tallied once`);
    await second.close();
  });

  it("does not act twice when it stops between a command and its note, even after the command's request record expired", async () => {
    const db = open(undefined, 1);
    const heard = recorder();
    let crashed = false;
    // The fault: the runner dies right after the command committed, before it noted the effect done.
    const ledger: ReactionLedger = {
      ...db.ledger,
      async noteEffects(name, eventId, done) {
        if (done === 1 && !crashed) {
          crashed = true;
          throw new Error("process died");
        }
        return db.ledger.noteEffects(name, eventId, done);
      },
    };
    // The first restart waits out the request record's retention (pruned every second).
    const { runner } = run(db, { ledger, ports: { recorder: heard.port }, backoffMs: (n) => (n === 1 ? 2500 : 10) });
    const pinged = await db.ping("x");
    await eventually("the ping handled after the restart", async () => heard.calls.length === 1, 10_000);
    await runner.stop();
    assert.ok(crashed);
    const requestId = `test.add-on-ping:${pinged.status === "accepted" ? pinged.events[0].id : ""}:0`;
    assert.equal(await db.app.store.findRequest("default", requestId), undefined, "the request record had expired");
    assert.equal((await db.tallied("x-added")).length, 1, "the command ran once");
    await db.close();
  });

  it("stops a chain of reactions that loops at the configured depth, with a dead letter that says why", async () => {
    const db = open();
    const { runner, letters } = run(db, { reaction: addForever, maxDepth: 3, ports: { recorder: recorder().port } });
    assert.equal((await db.app.commands.add({ tallyId: "loop" })).status, "accepted");
    await eventually("the loop stopped", async () => letters.length === 1);
    await sleep(200);
    await runner.stop();
    const tallied = await db.tallied("loop");
    assert.deepEqual(tallied.map((e) => e.metadata.reactionDepth), [undefined, 1, 2, 3]);
    const [letter] = letters;
    assert.equal(letter.reason, "REACTION_DEPTH_EXCEEDED");
    assert.match(letter.lastError, /4 reactions deep, past REACTION_MAX_DEPTH=3.*loops/);
    assert.equal(letter.eventId, tallied[3].id);
    assert.deepEqual(letter.effect.kind === "command" && [letter.effect.type, letter.effect.aggregateId, letter.effect.reactionDepth], ["tally.Add", "loop", 4]);
    await db.close();
  });

  it("puts a command it gave up on among the store's dead letters, which Retry can run once more", async () => {
    const db = open();
    const calls: ReactionDeadLetter[] = [];
    const schedules = db.app.store.schedules!;
    const deadLetters = scheduledDeadLetters(schedules, () => new Date(), async (letter) => void calls.push(letter));
    const { runner } = run(db, { reaction: addForever, maxDepth: 1, ports: { recorder: recorder().port }, deadLetters });
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    await db.app.commands.add({ tallyId: "deep" }, { identity: { ...TRUSTED_LOCAL, tenant: "hotel-c" }, correlationId: "corr-deep", traceparent });
    await eventually("a dead letter in the store", async () => (await schedules.list("hotel-c", { statuses: ["dead"], limit: 10 })).length === 1);
    await runner.stop();
    const [dead] = await schedules.list("hotel-c", { statuses: ["dead"], limit: 10 });
    assert.deepEqual([dead.commandType, dead.aggregateId, dead.correlationId, dead.identity.clientId], ["tally.Add", "deep", "corr-deep", "reaction:test.add-forever"]);
    assert.match(dead.lastError ?? "", /^REACTION_DEPTH_EXCEEDED: the command would be 2 reactions deep/);
    assert.equal(dead.causationId, (await db.tallied("deep", "hotel-c"))[1].id);
    assert.equal(dead.traceparent, traceparent, "a retry continues the trace of the event that caused it");
    assert.equal(calls.length, 0);
    assert.equal(await schedules.revive("hotel-c", dead.id, Date.now()), true);
    await db.close();
  });

  it("retries a failing collaborator with backoff, then makes it a dead letter naming the tries and the last error", async () => {
    const db = open();
    const flaky = recorder((n) => n <= 2);
    const once = run(db, { ports: { recorder: flaky.port } });
    await db.ping("flaky");
    await eventually("the third try got through", async () => flaky.calls.length === 1);
    assert.equal(once.letters.length, 0);
    await once.runner.stop();

    const broken = recorder(() => true);
    const twice = run(db, { ports: { recorder: broken.port } });
    await db.ping("broken");
    await eventually("a dead letter", async () => twice.letters.length === 1);
    await twice.runner.stop();
    const [letter] = twice.letters;
    assert.deepEqual([letter.reason, letter.attempts, letter.lastError], ["ATTEMPTS_EXHAUSTED", 3, "recorder refused call 3"]);
    assert.deepEqual(letter.effect.kind === "call" && [letter.effect.port, letter.effect.method], ["recorder", "heard"]);
    assert.equal((await db.tallied("broken-added")).length, 1, "the command before it was done once");
    await db.close();
  });

  it("runs in one runner at a time: a second waits while the first holds the lease, and takes over when it stops", async () => {
    const db = open();
    const heard = recorder();
    const first = run(db, { owner: "first", ports: { recorder: heard.port } });
    await eventually("the first holds the lease", async () => first.notes.includes("reaction runner holds the lease"));
    const second = run(db, { owner: "second", ports: { recorder: heard.port }, leaseMs: 400 });
    for (const id of ["p", "q", "r"]) await db.ping(id);
    await eventually("three pings handled", async () => heard.calls.length === 3);
    assert.equal(second.notes.includes("reaction runner holds the lease"), false);
    await first.runner.stop();
    await eventually("the second took over", async () => second.notes.includes("reaction runner holds the lease"));
    await db.ping("s");
    await eventually("the fourth ping handled", async () => heard.calls.length === 4);
    await sleep(200);
    await second.runner.stop();
    for (const id of ["p", "q", "r", "s"]) assert.equal((await db.tallied(`${id}-added`)).length, 1, `${id} tallied once`);
    assert.equal(heard.calls.length, 4);
    await db.close();
  });
});
