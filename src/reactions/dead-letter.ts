import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { ScheduleStore } from "../store/schedule-store.js";

/** What a reaction could not do: the command it would have issued, or the collaborator call. */
export type DeadEffect =
  | {
      readonly kind: "command";
      readonly type: string;
      readonly aggregateId: string;
      readonly payload: unknown;
      readonly requestId: string;
      readonly correlationId: string;
      readonly causationId: string;
      readonly reactionDepth: number;
      /** The event's trace context, which a retry of the command continues. */
      readonly traceparent?: string;
    }
  | { readonly kind: "call"; readonly port: string; readonly method: string; readonly argument: unknown; readonly idempotencyKey: string };

/** A reaction's effect given up on, and why: what was tried, how often, and the last error. */
export interface ReactionDeadLetter {
  readonly source: "reaction";
  /** The reaction's name. */
  readonly name: string;
  readonly tenant: string;
  /** The event the reaction followed. */
  readonly eventId: string;
  readonly eventType: string;
  readonly effect: DeadEffect;
  /** Stable: REACTION_DEPTH_EXCEEDED, ATTEMPTS_EXHAUSTED, COMMAND_REFUSED (invalid or not allowed), UNKNOWN_PORT. */
  readonly reason: string;
  readonly attempts: number;
  readonly lastError: string;
}

/**
 * Where the runner puts what it gives up on. One function, so that the dead-letter store
 * (ListDeadLetters, RetryDeadLetter, DiscardDeadLetter) takes them when it is wired in.
 */
export type DeadLetterSink = (letter: ReactionDeadLetter) => Promise<void>;

/** The sink while no dead-letter store is wired: one error log line per letter. */
export function loggedDeadLetters(logger: Logger): DeadLetterSink {
  return async (letter) => void logger.error({ deadLetter: letter }, `reaction ${letter.name} gave up on an effect: ${letter.reason}`);
}

/**
 * The sink on the dead-letter store (the schedules table): a command the reaction gave up on
 * becomes a dead schedule, listed by ListDeadLetters and run once more by RetryDeadLetter
 * with the reaction's identity, correlation and causation (not its chain depth: a retried
 * loop starts counting again). Its id is derived from the effect's request id, so burying it
 * twice keeps one. A collaborator call has no command to retry: it goes to `calls`.
 */
export function scheduledDeadLetters(schedules: ScheduleStore, clock: () => Date, calls: DeadLetterSink): DeadLetterSink {
  return async (letter) => {
    const effect = letter.effect;
    if (effect.kind !== "command") return calls(letter);
    const now = clock().getTime();
    const id = `rx-${createHash("sha256").update(`${letter.tenant}\0${effect.requestId}`).digest("hex").slice(0, 40)}`;
    const lastError = `${letter.reason}: ${letter.lastError}${letter.attempts > 0 ? ` (after ${letter.attempts} attempts)` : ""}`;
    await schedules.addDeadLetter(
      letter.tenant,
      {
        id,
        commandType: effect.type,
        aggregateId: effect.aggregateId,
        payload: effect.payload,
        runAt: now,
        identity: reactionIdentity(letter.tenant, letter.name),
        correlationId: effect.correlationId,
        causationId: effect.causationId,
        createdAt: now,
        ...(effect.traceparent === undefined ? {} : { traceparent: effect.traceparent }),
      },
      lastError,
      now,
    );
  };
}

/** Who a reaction's commands run as: trusted, in the event's tenant, named after the reaction. */
export function reactionIdentity(tenant: string, reaction: string) {
  return { tenant, scopes: ["*"], clientId: `reaction:${reaction}`, authenticated: true } as const;
}
