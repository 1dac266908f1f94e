import type { Logger } from "pino";

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
