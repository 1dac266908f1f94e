import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { EventMetadata } from "../../src/kernel/events.js";
import { TRUSTED_LOCAL } from "../../src/kernel/identity.js";
import type { EventStore } from "../../src/store/event-store.js";
import type { NewSchedule, ScheduleStore } from "../../src/store/schedule-store.js";

/** A schedule due at `runAt` for test.Command. */
export function newSchedule(runAt: number, id: string = randomUUID()): NewSchedule {
  return {
    id,
    commandType: "test.Command",
    aggregateId: "a-1",
    payload: { n: 1 },
    runAt,
    identity: { ...TRUSTED_LOCAL, tenant: "t" },
    correlationId: "corr",
    causationId: "cause",
    createdAt: 1,
  };
}

function meta(tenant: string): EventMetadata {
  return { commandId: "c", commandType: "test.Command", requestId: "r", correlationId: "r", causationId: "c", tenant, timestamp: new Date().toISOString() };
}

/**
 * The behaviour every store's schedules table must have: stored with the events that made
 * them, claims under a lease, a stale claimant refused, dead letters settled once.
 */
export function scheduleStoreContract(name: string, open: () => Promise<EventStore> | EventStore): void {
  describe(`ScheduleStore contract: ${name}`, () => {
    let store: EventStore;
    let schedules: ScheduleStore;
    // Each test works at its own instant far from the others', so due rows of one test are not due in another.
    let epoch = 1_000_000;
    const moment = () => (epoch += 1_000_000_000);
    const tenant = () => `t-${randomUUID()}`;
    before(async () => {
      store = await open();
      schedules = store.schedules!;
    });
    after(() => store.close());

    /** Claims everything due at `now`, then settles what is due before this test's window, so tests do not see each other's rows. */
    const claimAt = (now: number, leaseMs = 1000, owner = "runner-1") => schedules.claim(owner, now, leaseMs, 100);

    it("stores an append's schedules with its events, and none when the append is refused", async () => {
      const t = tenant();
      const at = moment();
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      const kept = { ...newSchedule(at), id: randomUUID(), traceparent };
      const appended = await store.append({ tenant: t, streamId: "s-1", expectedRevision: 0, events: [{ id: randomUUID(), type: "E", data: {}, metadata: meta(t) }], schedules: [kept] });
      assert.equal(appended.kind, "appended");
      const refused = await store.append({ tenant: t, streamId: "s-1", expectedRevision: 0, events: [{ id: randomUUID(), type: "E", data: {}, metadata: meta(t) }], schedules: [newSchedule(at)] });
      assert.equal(refused.kind, "conflict");
      const listed = await schedules.list(t, { statuses: ["pending"], limit: 10 });
      assert.deepEqual(listed.map((s) => s.id), [kept.id]);
      assert.equal(listed[0].tenant, t);
      assert.deepEqual(listed[0].payload, { n: 1 });
      assert.equal(listed[0].identity.userId, "local");
      assert.equal(listed[0].runAt, at);
      assert.equal(listed[0].traceparent, traceparent, "the trace context its run continues");
      const claimed = await claimAt(at);
      assert.equal(claimed.find((c) => c.id === kept.id)?.traceparent, traceparent);
      for (const c of claimed) await schedules.finish(c.id, c.claim, "done", {}, at);
    });

    it("claims a due schedule once under a lease; a stale claimant's completion is refused", async () => {
      const t = tenant();
      const at = moment();
      const s = newSchedule(at);
      assert.equal(await schedules.add(t, s), true);
      assert.equal(await schedules.add(t, s), false, "the same id again adds nothing");
      assert.equal((await claimAt(at - 1)).length, 0, "not due yet");
      const [first] = await claimAt(at, 1000, "runner-1");
      assert.equal(first.id, s.id);
      assert.equal(first.attempts, 1);
      assert.equal((await claimAt(at + 500, 1000, "runner-2")).length, 0, "the lease holds it");
      assert.equal(await schedules.nextDue(), at + 1001, "next claimable when the lease runs out");
      const [second] = await claimAt(at + 1001, 1000, "runner-2");
      assert.equal(second.id, s.id, "claimed again once the lease ran out");
      assert.equal(second.attempts, 2);
      assert.equal(await schedules.finish(s.id, first.claim, "done", {}, at + 1002), false, "the stale claim is refused");
      assert.equal(await schedules.bury(s.id, first.claim, "x", at + 1002), false);
      assert.equal(await schedules.finish(s.id, second.claim, "done", { status: "accepted" }, at + 1003), true);
      const done = await schedules.get(t, s.id);
      assert.equal(done?.status, "done");
      assert.deepEqual(done?.outcome, { status: "accepted" });
      assert.equal(await schedules.get("other", s.id), undefined, "another tenant does not see it");
    });

    it("puts a failed run back for later, then buries it; Retry revives it once, and only once for two calls", async () => {
      const t = tenant();
      const at = moment();
      const s = newSchedule(at);
      await schedules.add(t, s);
      const [first] = await claimAt(at);
      assert.equal(await schedules.retryLater(s.id, first.claim, at + 5000, "store busy"), true);
      assert.equal((await claimAt(at + 4999)).length, 0);
      const [second] = await claimAt(at + 5000);
      assert.equal(await schedules.bury(s.id, second.claim, "store busy again", at + 5001), true);
      const dead = await schedules.get(t, s.id);
      assert.equal(dead?.status, "dead");
      assert.equal(dead?.attempts, 2);
      assert.equal(dead?.lastError, "store busy again");
      assert.deepEqual((await schedules.list(t, { statuses: ["dead"], limit: 10 })).map((d) => d.id), [s.id]);
      assert.equal((await schedules.counts(at + 5002)).deadLetters >= 1, true);
      const revived = await Promise.all([schedules.revive(t, s.id, at + 6000), schedules.revive(t, s.id, at + 6000)]);
      assert.deepEqual(revived.sort(), [false, true]);
      const again = await schedules.get(t, s.id);
      assert.equal(again?.status, "pending");
      assert.equal(again?.maxAttempts, 3, "one more attempt");
      assert.equal(await schedules.discard(t, s.id, at + 6000), false, "no longer a dead letter");
      const [third] = await claimAt(at + 6000);
      assert.equal(await schedules.bury(s.id, third.claim, "still busy", at + 6001), true);
      assert.equal(await schedules.discard(t, s.id, at + 6002), true);
      assert.equal((await schedules.get(t, s.id))?.status, "discarded");
    });

    it("records a dead letter at once, with why, which Retry makes pending", async () => {
      const t = tenant();
      const at = moment();
      const s = newSchedule(at);
      assert.equal(await schedules.addDeadLetter(t, s, "the reaction chain is 10 deep", at), true);
      assert.equal(await schedules.addDeadLetter(t, s, "again", at), false);
      const dead = await schedules.get(t, s.id);
      assert.equal(dead?.status, "dead");
      assert.equal(dead?.attempts, 0);
      assert.equal(dead?.lastError, "the reaction chain is 10 deep");
      assert.equal((await claimAt(at)).some((c) => c.id === s.id), false, "a dead letter does not run by itself");
      assert.equal(await schedules.revive(t, s.id, at), true);
      const [claimed] = (await claimAt(at)).filter((c) => c.id === s.id);
      assert.equal(claimed.maxAttempts, 1);
      await schedules.finish(s.id, claimed.claim, "done", {}, at);
    });

    it("cancels a pending schedule that no runner holds", async () => {
      const t = tenant();
      const at = moment();
      const [a, b] = [newSchedule(at), newSchedule(at)];
      await schedules.add(t, a);
      assert.equal(await schedules.cancel(t, a.id, at - 10), true);
      assert.equal(await schedules.cancel(t, a.id, at - 10), false, "already cancelled");
      assert.equal((await claimAt(at)).some((c) => c.id === a.id), false, "a cancelled schedule never runs");
      await schedules.add(t, b);
      const [held] = await claimAt(at);
      assert.equal(held.id, b.id);
      assert.equal(await schedules.cancel(t, b.id, at + 1), false, "running now");
      assert.equal(await schedules.cancel("other", b.id, at + 5000), false, "another tenant's");
      await schedules.finish(b.id, held.claim, "done", {}, at + 2);
    });

    it("pages a tenant's schedules by id and tells the next due time", async () => {
      const t = tenant();
      const at = moment();
      const ids = ["a", "b", "c", "d", "e"].map((x) => `${x}-${randomUUID()}`);
      for (const [i, id] of ids.entries()) await schedules.add(t, newSchedule(at + i, id));
      const first = await schedules.list(t, { statuses: ["pending"], limit: 2 });
      const second = await schedules.list(t, { statuses: ["pending"], afterId: first[1].id, limit: 10 });
      assert.deepEqual([...first, ...second].map((s) => s.id), ids);
      const next = await schedules.nextDue();
      assert.ok(next !== undefined && next <= at);
      const counts = await schedules.counts(at + 1002);
      assert.ok(counts.due >= 5 && counts.overdue >= 2);
      for (const c of await claimAt(at + 10)) await schedules.finish(c.id, c.claim, "done", {}, at + 10);
    });
  });
}
