import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { systemCollaborators } from "../../src/kernel/collaborators.js";
import type { CommandResult } from "../../src/kernel/result.js";
import { createApp } from "../../src/pipeline/app.js";
import type { CommandEnvelope } from "../../src/pipeline/envelope.js";
import { scheduleRequestId, startScheduler, type RunEnding, type Scheduler, type SchedulerOptions } from "../../src/scheduler/scheduler.js";
import type { StoredSchedule } from "../../src/store/schedule-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { virtualTime } from "../support/virtual-time.js";
import { counter, counterCommands } from "./counter-domain.js";

/** A counter app on an in-memory store, on virtual time, with a scheduler over it. */
function world(options: Partial<SchedulerOptions> = {}) {
  const time = virtualTime();
  const store = openSqliteStore({ path: ":memory:" });
  const app = createApp({ store, commands: counterCommands, collaborators: { ...systemCollaborators, clock: time.clock } });
  const endings: RunEnding[] = [];
  const schedulerOf = (extra: Partial<SchedulerOptions> = {}) =>
    startScheduler({
      schedules: store.schedules!,
      execute: app.execute,
      clock: time.clock,
      timer: time.timer,
      watchCommits: store.watchCommits,
      onRun: (_s, ending) => endings.push(ending),
      ...options,
      ...extra,
    });
  const scheduler = schedulerOf();
  /** Moves virtual time and waits until the scheduler has done what became due. */
  const pass = async (ms: number, on: Scheduler[] = [scheduler]) => {
    time.advance(ms);
    for (let i = 0; i < 5; i++) {
      await turn();
      for (const s of on) await s.idle();
    }
  };
  const count = async (id: string) => (await app.loadState(counter, id)).state.count;
  const only = async (): Promise<StoredSchedule> => {
    const [s, ...more] = await store.schedules!.list("default", { statuses: ["pending", "done", "rejected", "cancelled", "dead", "discarded"], limit: 10 });
    assert.equal(more.length, 0);
    return s;
  };
  const close = async (...others: Scheduler[]) => {
    for (const s of [scheduler, ...others]) await s.stop();
    await store.close();
  };
  return { time, store, app, scheduler, schedulerOf, pass, count, only, endings, close };
}

describe("scheduler", () => {
  it("runs a decider's schedule at its time on the injected clock, not before, once, with the identity and correlation of the command that made it", async () => {
    const w = world();
    const made = await w.app.execute({ type: "counter.Start", payload: { counterId: "c1", afterMs: 60_000 }, metadata: { correlationId: "corr-1" } });
    assert.equal(made.status, "accepted");
    const schedule = await w.only();
    assert.equal(schedule.runAt, w.time.now() + 60_000);
    await w.pass(59_999);
    assert.equal(await w.count("c1"), 0, "not before its time");
    await w.pass(1);
    assert.equal(await w.count("c1"), 1);
    await w.pass(600_000);
    assert.equal(await w.count("c1"), 1, "once");
    const done = await w.only();
    assert.equal(done.status, "done");
    assert.equal(done.attempts, 1);
    const [started, incremented] = await w.store.readStream("default", "counter-c1");
    assert.equal(started.type, "Started");
    assert.equal(incremented.metadata.requestId, scheduleRequestId(schedule.id));
    assert.equal(incremented.metadata.correlationId, "corr-1");
    assert.equal(incremented.metadata.commandCausationId, schedule.id);
    assert.equal(incremented.metadata.userId, "local");
    await w.close();
  });

  it("wakes for a schedule due sooner than the one it sleeps for, through the commit feed", async () => {
    const w = world({ idleMs: 3_600_000, peekEveryMs: 0 });
    await w.app.execute({ type: "counter.Start", payload: { counterId: "late", afterMs: 3_000_000 } });
    await w.pass(0);
    await w.app.execute({ type: "counter.Start", payload: { counterId: "soon", afterMs: 1000 } });
    // The feed tells the scheduler after the commit; it looks at the next due time then.
    for (let i = 0; i < 20 && (await w.count("soon")) === 0; i++) await w.pass(100);
    assert.equal(await w.count("soon"), 1);
    assert.equal(await w.count("late"), 0);
    await w.close();
  });

  it("never runs a cancelled schedule", async () => {
    const w = world();
    await w.app.execute({ type: "counter.Start", payload: { counterId: "c2" } });
    const schedule = await w.only();
    assert.equal(await w.store.schedules!.cancel("default", schedule.id, w.time.now()), true);
    await w.pass(120_000);
    assert.equal(await w.count("c2"), 0);
    assert.equal((await w.only()).status, "cancelled");
    await w.close();
  });

  it("records a final answer that is not an acceptance on the schedule, without retrying", async () => {
    const w = world();
    await w.app.execute({ type: "counter.Start", payload: { counterId: "c3" } });
    await w.app.execute({ type: "counter.Stop", payload: { counterId: "c3" } });
    await w.pass(60_000);
    const settled = await w.only();
    assert.equal(settled.status, "rejected");
    assert.deepEqual(settled.outcome, { status: "rejected", code: "COUNTER_STOPPED", message: "counter c3 is stopped" });
    assert.deepEqual(w.endings, ["rejected"]);
    await w.close();
  });

  it("recovers after a restart: a schedule due while no scheduler ran runs when one starts", async () => {
    const w = world();
    await w.app.execute({ type: "counter.Start", payload: { counterId: "c4" } });
    await w.scheduler.stop();
    await w.pass(120_000, []);
    assert.equal(await w.count("c4"), 0);
    const restarted = w.schedulerOf();
    await w.pass(0, [restarted]);
    assert.equal(await w.count("c4"), 1);
    await w.close(restarted);
  });

  it("a run cut short after its command committed is finished by the next runner once the lease runs out, without running the command twice", async () => {
    const w = world({ leaseMs: 10_000 });
    await w.scheduler.stop();
    await w.app.execute({ type: "counter.Start", payload: { counterId: "c5" } });
    w.time.advance(60_000);
    // A runner claims it and commits the command, then dies before recording the end.
    const [claimed] = await w.store.schedules!.claim("doomed", w.time.now(), 10_000, 1);
    const first = await w.app.execute({ type: claimed.commandType, aggregateId: claimed.aggregateId, payload: claimed.payload, metadata: { requestId: scheduleRequestId(claimed.id) } });
    assert.equal(first.status, "accepted");
    const next = w.schedulerOf();
    await w.pass(9_000, [next]);
    assert.equal((await w.only()).status, "pending", "the lease still holds it");
    await w.pass(2_000, [next]);
    const done = await w.only();
    assert.equal(done.status, "done");
    assert.equal(done.attempts, 2);
    assert.deepEqual(done.outcome, { status: "accepted", position: first.status === "accepted" ? first.position : -1, replayed: true });
    assert.equal(await w.count("c5"), 1, "the second run replayed the first's answer");
    assert.equal(await w.store.schedules!.finish(claimed.id, claimed.claim, "done", {}, w.time.now()), false, "the dead runner's claim is refused");
    await w.close(next);
  });

  it("retries an infrastructure failure with doubling waits, then makes it a dead letter; Retry runs it once more; Discard gives it up", async () => {
    let failing = true;
    const calls: number[] = [];
    const unavailable = (e: CommandEnvelope): CommandResult =>
      ({ status: "unavailable", message: "the store is busy", commandId: "x", commandType: e.type, aggregateId: "", correlationId: "", replayed: false }) as CommandResult;
    let app: { execute(e: CommandEnvelope): Promise<CommandResult> } | undefined;
    const w = world({
      maxAttempts: 3,
      retryFirstMs: 1000,
      execute: async (e) => {
        calls.push(Date.parse(w.time.clock().toISOString()));
        return failing ? unavailable(e) : app!.execute(e);
      },
    });
    app = w.app;
    await w.app.execute({ type: "counter.Start", payload: { counterId: "c6", afterMs: 1000 } });
    const start = w.time.now();
    await w.pass(1000);
    await w.pass(999);
    assert.equal(calls.length, 1);
    await w.pass(1);
    assert.equal(calls.length, 2, "first retry after 1 s");
    await w.pass(1999);
    assert.equal(calls.length, 2);
    await w.pass(1);
    assert.deepEqual(calls.map((c) => c - start), [1000, 2000, 4000], "then after 2 s");
    const dead = await w.only();
    assert.equal(dead.status, "dead");
    assert.equal(dead.attempts, 3);
    assert.equal(dead.lastError, "unavailable: the store is busy");
    assert.deepEqual((await w.scheduler.counts()).deadLetters, 1);
    await w.pass(600_000);
    assert.equal(calls.length, 3, "a dead letter is not run again by itself");

    // Retry: once more, still failing: a dead letter again at once.
    assert.equal(await w.store.schedules!.revive("default", dead.id, w.time.now()), true);
    w.scheduler.wake();
    await w.pass(0);
    assert.equal(calls.length, 4);
    assert.equal((await w.only()).status, "dead");

    failing = false;
    assert.equal(await w.store.schedules!.revive("default", dead.id, w.time.now()), true);
    w.scheduler.wake();
    await w.pass(0);
    assert.equal((await w.only()).status, "done");
    assert.equal(await w.count("c6"), 1);
    assert.equal(await w.store.schedules!.discard("default", dead.id, w.time.now()), false, "no longer a dead letter");
    await w.close();
  });

  it("tries the write that records a run's end again when it fails, so the schedule is done after one run", async () => {
    const w = world({ retryFirstMs: 1000 });
    const finish = w.store.schedules!.finish.bind(w.store.schedules);
    let refusals = 2;
    w.store.schedules!.finish = async (...args) => {
      if (refusals-- > 0) throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
      return finish(...args);
    };
    await w.app.execute({ type: "counter.Start", payload: { counterId: "c7", afterMs: 1000 } });
    // The scheduler waits on virtual time between tries: move it on without waiting for it to be idle.
    const advance = async (ms: number) => {
      w.time.advance(ms);
      for (let i = 0; i < 20; i++) await turn();
    };
    await advance(1000);
    assert.equal((await w.only()).status, "pending", "claimed, its end not yet recorded");
    await advance(200);
    await advance(200);
    await w.scheduler.idle();
    const done = await w.only();
    assert.deepEqual([done.status, done.attempts, refusals], ["done", 1, -1]);
    assert.equal(await w.count("c7"), 1);
    await w.close();
  });

  it("two schedulers on one store run a due schedule once", async () => {
    const w = world();
    const other = w.schedulerOf({ owner: "other" });
    for (let i = 0; i < 20; i++) await w.app.execute({ type: "counter.Start", payload: { counterId: `r${i}` } });
    await w.pass(60_000, [w.scheduler, other]);
    for (let i = 0; i < 20; i++) assert.equal(await w.count(`r${i}`), 1);
    assert.equal(w.endings.filter((e) => e === "done").length, 20);
    assert.equal(w.endings.length, 20);
    await w.close(other);
  });
});
