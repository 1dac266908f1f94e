import type { Identity } from "../kernel/identity.js";

/** Everything the pipeline needs to run one command, whichever edge it came from. */
export interface CommandEnvelope {
  /** "booking.RecordPayment". */
  readonly type: string;
  /** The aggregate id; may be omitted when the payload carries it. */
  readonly aggregateId?: string;
  readonly payload: unknown;
  /** Revision the stream must be at; a mismatch fails as a conflict instead of retrying. */
  readonly expectedRevision?: number;
  readonly metadata?: CommandMetadata;
  /** Validate, authorize and decide against the current state, and write nothing: the result says what Execute would do. */
  readonly dryRun?: boolean;
}

/** Who sent the command and how it relates to others. */
export interface CommandMetadata {
  /** Idempotency key: a repeat returns the first result. Without one the command is not deduplicated. */
  readonly requestId?: string;
  /** Ties together everything one user action caused; defaults to the request id. */
  readonly correlationId?: string;
  /** The message that caused this command, if any (the command's own id becomes its events' causation id). */
  readonly causationId?: string;
  /** Set by the reaction runner: how deep in a chain of reactions this command is (reactions/runner.ts). */
  readonly reactionDepth?: number;
  /** Defaults to the trusted local identity (in-process calls). */
  readonly identity?: Identity;
  /** The W3C trace context the command was sent in, kept in its events so a consumer can continue the trace. */
  readonly traceparent?: string;
}

/** Longest request, correlation or causation id accepted. */
export const MAX_REQUEST_ID_LENGTH = 128;
