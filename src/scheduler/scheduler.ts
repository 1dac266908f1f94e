import { AsyncResource } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { CommandResult } from "../kernel/result.js";
import type { CommandEnvelope } from "../pipeline/envelope.js";
import type { ClaimedSchedule, ScheduleCounts, ScheduleStore } from "../store/schedule-store.js";
import { systemTimer, type Timer } from "./timer.js";

/** How a scheduled run ended, as the scheduler's hook hears it. */
export type RunEnding = "done" | "rejected" | "retry" | "dead" | "stale";

/** How a scheduler is built; times in ms. */
export interface SchedulerOptions {
  readonly schedules: ScheduleStore;
  /** The normal pipeline: every schedule runs through it. */
  readonly execute: (envelope: CommandEnvelope) => Promise<CommandResult>;
  /** The injected clock the schedules' times are on. */
  readonly clock: () => Date;
  readonly timer?: Timer;
  /** The store's commit feed: a new schedule, maybe due earlier than the one waited for, is looked at when it commits. */
  readonly watchCommits?: (listener: () => void) => () => void;
  /** Names this runner in claims (a process, a replica); random by default. */
  readonly owner?: string;
  /** How long a claim holds a schedule; a runner that dies holding it frees it after this. */
  readonly leaseMs?: number;
  /** Runs (claims) a schedule may have before an infrastructure failure makes it a dead letter. */
  readonly maxAttempts?: number;
  /** The wait before the first retry; it doubles on each one, up to retryMaxMs. */
  readonly retryFirstMs?: number;
  readonly retryMaxMs?: number;
  /** Most schedules claimed and run at once. */
  readonly batch?: number;
  /** The longest the scheduler sleeps without looking (another process may have added a due schedule). */
  readonly idleMs?: number;
  /** Most often the commit feed makes it look at the next due time. */
  readonly peekEveryMs?: number;
  /** Told of each run's end and how late it started (ms after its time). */
  readonly onRun?: (schedule: ClaimedSchedule, ending: RunEnding, latenessMs: number) => void;
  /** Told when the schedules table cannot be read or written; the scheduler tries again later. */
  readonly onError?: (error: unknown) => void;
}

/** A running scheduler. */
export interface Scheduler {
  /** Looks for due schedules now (a new schedule was made, a dead letter revived). */
  wake(): void;
  /** Resolves when no run is under way: what tests wait for after moving virtual time. */
  idle(): Promise<void>;
  /** Schedules due, overdue (more than 1 s late) and dead letters, over every tenant: for metrics. */
  counts(): Promise<ScheduleCounts>;
  /** Stops claiming and waits for the runs under way. */
  stop(): Promise<void>;
}

/** The shortest sleep after a look that found a schedule due but could not claim it. */
const MIN_SLEEP_MS = 50;

/** Tries of the write that records how a run ended, before the lease is left to decide. */
const SETTLE_ATTEMPTS = 4;

/** Statuses that say the infrastructure failed rather than the command: retried, then a dead letter. */
const RETRIED = new Set<CommandResult["status"]>(["unavailable", "failed", "conflict"]);

/** The request id a schedule runs under: derived from its id, so a run after a crash replays instead of running twice. */
export function scheduleRequestId(scheduleId: string): string {
  return `schedule-${scheduleId}`;
}

/**
 * Runs due scheduled commands. It sleeps until the next due time (at most `idleMs`), wakes
 * early when the commit feed says something committed (a new schedule may be due sooner),
 * claims due schedules under a lease in the database and runs each through the pipeline
 * with the identity that made it and a request id derived from its id. An acceptance
 * settles it as done; another final answer (a rejection, not found, invalid, denied) as
 * rejected, recorded on the schedule; an infrastructure failure (unavailable, failed, a
 * conflict after the pipeline's own retries) is retried with doubling waits and, after
 * `maxAttempts` runs, makes it a dead letter.
 */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const { schedules, clock } = options;
  const timer = options.timer ?? systemTimer;
  const owner = options.owner ?? `runner-${randomUUID()}`;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryFirstMs = options.retryFirstMs ?? 1000;
  const retryMaxMs = options.retryMaxMs ?? 60_000;
  const batch = options.batch ?? 16;
  const idleMs = options.idleMs ?? 30_000;
  const peekEveryMs = options.peekEveryMs ?? 200;

  let stopped = false;
  let armed: unknown;
  /** When the armed timer fires, in ms on the clock. */
  let armedFor = Infinity;
  let working: Promise<void> | undefined;
  let again = false;
  let lastPeek = -Infinity;
  let peeking = false;

  const now = () => clock().getTime();
  // Runs start in the async context the scheduler was started in, never in that of what woke
  // it (a commit's, an RPC's): a scheduled command's trace is the one its schedule stored.
  const inOwnContext = AsyncResource.bind((run: () => Promise<void>) => run());

  function arm(at: number): void {
    if (stopped) return;
    if (armed !== undefined) timer.clear(armed);
    armedFor = Math.min(at, now() + idleMs);
    armed = timer.set(() => {
      armed = undefined;
      armedFor = Infinity;
      wake();
    }, Math.max(0, armedFor - now()));
  }

  function wake(): void {
    if (stopped) return;
    if (working) {
      again = true;
      return;
    }
    working = inOwnContext(work).finally(() => {
      working = undefined;
      if (again && !stopped) {
        again = false;
        wake();
      }
    });
  }

  /** Claims and runs due schedules until none is left, then sleeps until the next one is due. */
  async function work(): Promise<void> {
    let next: number | undefined;
    try {
      let lookedAt: number;
      for (;;) {
        lookedAt = now();
        const claimed = await schedules.claim(owner, lookedAt, leaseMs, batch);
        if (claimed.length === 0) break;
        await Promise.all(claimed.map(run));
        if (stopped) return;
      }
      next = await schedules.nextDue();
      // Due when the claim looked, yet not claimed: another runner took it just then, or its clock is ahead; look again shortly.
      if (next !== undefined && next <= lookedAt) next = now() + MIN_SLEEP_MS;
    } catch (error) {
      options.onError?.(error);
      next = now() + retryFirstMs;
    }
    arm(next ?? Infinity);
  }

  async function run(schedule: ClaimedSchedule): Promise<void> {
    const lateness = Math.max(0, now() - schedule.runAt);
    let result: CommandResult;
    try {
      result = await options.execute({
        type: schedule.commandType,
        aggregateId: schedule.aggregateId,
        payload: schedule.payload,
        metadata: {
          requestId: scheduleRequestId(schedule.id),
          correlationId: schedule.correlationId,
          causationId: schedule.id,
          identity: schedule.identity,
          traceparent: schedule.traceparent,
        },
      });
    } catch (error) {
      // The pipeline answers every failure with a result; a throw is a bug, retried like a failed run.
      const errorId = randomUUID();
      options.onError?.(error);
      result = { status: "failed", errorId } as CommandResult;
    }
    const ending = await settle(schedule, result);
    options.onRun?.(schedule, ending, lateness);
  }

  /**
   * Records how a run ended; "stale" when the claim no longer held the schedule (its lease ran
   * out and another runner took it). A write that fails (another process held the write lock
   * past the busy timeout) is tried again a few times, each a fifth of retryFirstMs later:
   * left to the lease, the run would count as a second attempt.
   */
  async function settle(schedule: ClaimedSchedule, result: CommandResult): Promise<RunEnding> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await record(schedule, result);
      } catch (error) {
        if (stopped || attempt >= SETTLE_ATTEMPTS) throw error;
        options.onError?.(error);
        await new Promise<void>((resolve) => timer.set(resolve, retryFirstMs / 5));
      }
    }
  }

  async function record(schedule: ClaimedSchedule, result: CommandResult): Promise<RunEnding> {
    const at = now();
    if (result.status === "accepted") {
      return (await schedules.finish(schedule.id, schedule.claim, "done", { status: "accepted", position: result.position, replayed: result.replayed }, at)) ? "done" : "stale";
    }
    if (!RETRIED.has(result.status)) {
      return (await schedules.finish(schedule.id, schedule.claim, "rejected", outcomeOf(result), at)) ? "rejected" : "stale";
    }
    const error = errorOf(result);
    if (schedule.attempts >= (schedule.maxAttempts ?? maxAttempts)) {
      return (await schedules.bury(schedule.id, schedule.claim, error, at)) ? "dead" : "stale";
    }
    const wait = Math.min(retryMaxMs, retryFirstMs * 2 ** (schedule.attempts - 1));
    return (await schedules.retryLater(schedule.id, schedule.claim, at + wait, error)) ? "retry" : "stale";
  }

  /** Looks at the next due time when the commit feed says something committed, at most every peekEveryMs. */
  async function peek(): Promise<void> {
    if (stopped || working || peeking || now() - lastPeek < peekEveryMs) return;
    peeking = true;
    lastPeek = now();
    try {
      const next = await schedules.nextDue();
      if (next !== undefined && next < armedFor) {
        if (next <= now()) wake();
        else arm(next);
      }
    } catch (error) {
      options.onError?.(error);
    } finally {
      peeking = false;
    }
  }

  const unwatch = options.watchCommits?.(() => void peek());
  wake();

  return {
    wake,
    async idle() {
      while (working) await working;
    },
    counts: () => schedules.counts(now()),
    async stop() {
      stopped = true;
      unwatch?.();
      if (armed !== undefined) timer.clear(armed);
      while (working) await working;
    },
  };
}

/** A final answer as the schedule records it: its status, and its code and message when it has them. */
function outcomeOf(result: CommandResult): Record<string, unknown> {
  switch (result.status) {
    case "rejected":
      return { status: result.status, code: result.code, message: result.message };
    case "invalid":
      return { status: result.status, code: result.reason, message: result.message };
    case "unauthorized":
      return { status: result.status, code: result.reason, message: result.message };
    case "not_found":
    case "already_exists":
      return { status: result.status, message: result.message };
    default:
      return { status: result.status };
  }
}

/** Why a retried run failed, for the schedule's last error. */
function errorOf(result: CommandResult): string {
  switch (result.status) {
    case "unavailable":
    case "conflict":
      return `${result.status}: ${result.message}`;
    case "failed":
      return `failed: an internal error (error id ${result.errorId})`;
    default:
      return result.status;
  }
}
