import type { Identity } from "../kernel/identity.js";

/** A command stored to run later, as an append or ScheduleCommand hands it to the store. */
export interface NewSchedule {
  /** Time-ordered (UUIDv7) from a decider; derived from the request id from the wire, so a retry adds nothing. */
  readonly id: string;
  readonly commandType: string;
  readonly aggregateId: string;
  readonly payload: unknown;
  /** When it is due, in ms since the epoch on the injected clock. */
  readonly runAt: number;
  /** Who made it: it runs with this identity (its tenant is the schedule's). */
  readonly identity: Identity;
  readonly correlationId: string;
  /** The command that made it (a decider's), or the ScheduleCommand call's request. */
  readonly causationId: string;
  readonly createdAt: number;
  /** The W3C trace context of the command or call that made it: its run continues that trace. */
  readonly traceparent?: string;
}

/**
 * Where a schedule is: waiting (`pending`, possibly claimed by a runner under a lease), or
 * settled: `done` (accepted), `rejected` (its answer was final and not an acceptance),
 * `cancelled`, `dead` (a dead letter: infrastructure failures outlasted the attempts) and
 * `discarded` (a dead letter given up on).
 */
export type ScheduleStatus = "pending" | "done" | "rejected" | "cancelled" | "dead" | "discarded";

/** A schedule as the store keeps it. */
export interface StoredSchedule extends NewSchedule {
  readonly tenant: string;
  readonly status: ScheduleStatus;
  /** Runs started (each claim counts one, so a run a crash cut short counts too). */
  readonly attempts: number;
  /** The attempts it may have before it becomes a dead letter, when not the scheduler's default (a retried dead letter gets one more). */
  readonly maxAttempts?: number;
  /** The runner holding it and until when (ms), while claimed. */
  readonly claimOwner?: string;
  readonly leaseUntil?: number;
  /** Why the last attempt failed, for dead letters and retries. */
  readonly lastError?: string;
  /** The settled answer: the status and, for a rejection, its code and message. */
  readonly outcome?: unknown;
  readonly finishedAt?: number;
}

/** A schedule a runner has claimed: `claim` is the token its completion must show. */
export interface ClaimedSchedule extends StoredSchedule {
  readonly claim: string;
}

/** A page of schedules of one tenant in id order. */
export interface ScheduleQuery {
  readonly statuses: readonly ScheduleStatus[];
  /** Only ids after this one: the page token's position. */
  readonly afterId?: string;
  readonly limit: number;
}

/** How many schedules wait, are overdue and are dead letters, over every tenant, for metrics. */
export interface ScheduleCounts {
  readonly due: number;
  readonly overdue: number;
  readonly deadLetters: number;
}

/**
 * The schedules table as the scheduler and the edge see it. Every change that a second
 * runner could race is one conditional statement in the database: a claim takes only rows
 * no live lease holds, and a completion counts only for the claim token that holds the row,
 * so a runner whose lease ran out (and was claimed again by another) changes nothing.
 */
export interface ScheduleStore {
  /** Adds a schedule made outside an append (ScheduleCommand); false when its id exists already. */
  add(tenant: string, schedule: NewSchedule): Promise<boolean>;
  /**
   * Records a command that cannot run as a dead letter at once, with why (a reaction chain
   * that loops, say): RetryDeadLetter runs it once, DiscardDeadLetter gives it up. False
   * when its id exists already.
   */
  addDeadLetter(tenant: string, schedule: NewSchedule, lastError: string, now: number): Promise<boolean>;
  get(tenant: string, id: string): Promise<StoredSchedule | undefined>;
  list(tenant: string, query: ScheduleQuery): Promise<StoredSchedule[]>;
  /** When a pending schedule is next claimable, in any tenant: its run time, or when its claim's lease runs out. */
  nextDue(): Promise<number | undefined>;
  /** Claims up to `limit` pending schedules due at `now` that no live lease holds, counting an attempt on each. */
  claim(owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedSchedule[]>;
  /** Settles a claimed schedule (done or rejected); false when the claim no longer holds it. */
  finish(id: string, claim: string, status: "done" | "rejected", outcome: unknown, now: number): Promise<boolean>;
  /** Puts a claimed schedule back to run again at `runAt`, releasing the claim; false when the claim no longer holds it. */
  retryLater(id: string, claim: string, runAt: number, lastError: string): Promise<boolean>;
  /** Makes a claimed schedule a dead letter; false when the claim no longer holds it. */
  bury(id: string, claim: string, lastError: string, now: number): Promise<boolean>;
  /** Cancels a pending schedule no runner holds; false when it is not one (settled, running or absent). */
  cancel(tenant: string, id: string, now: number): Promise<boolean>;
  /** Makes a dead letter pending again at `now`, for one more attempt; false when it is no dead letter (another call settled it). */
  revive(tenant: string, id: string, now: number): Promise<boolean>;
  /** Gives up on a dead letter; false when it is no dead letter. */
  discard(tenant: string, id: string, now: number): Promise<boolean>;
  counts(now: number): Promise<ScheduleCounts>;
}
