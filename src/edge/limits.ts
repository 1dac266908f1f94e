import { Code, ConnectError } from "@connectrpc/connect";
import { edgeError } from "./command-error.js";

/** Bounds on one request, from the configuration (README, "Limits"). */
export interface RequestLimits {
  /** Deepest nesting of objects and lists in a generic command's payload; the payload itself is level 1. */
  readonly maxPayloadDepth: number;
  /** Most values (object members and list elements, at any depth) in a generic command's payload. */
  readonly maxPayloadFields: number;
  /** Longest a call may run; a longer client deadline, or none, is cut to this. */
  readonly maxDeadlineMs: number;
  /** Largest message either port receives or the gRPC port sends (MAX_MESSAGE_BYTES); reads page below it. */
  readonly maxMessageBytes: number;
  /** Most Subscribe streams open at once in this process (MAX_SUBSCRIPTIONS). */
  readonly maxSubscriptions: number;
  /** How far (events) and for how long (ms) a subscriber that was live may trail the head before it is ended. */
  readonly subscriptionMaxLag: number;
  readonly subscriptionLagTimeoutMs: number;
}

/** The configuration's defaults, for code that builds services without a configuration (tests). */
export const DEFAULT_LIMITS: RequestLimits = {
  maxPayloadDepth: 32,
  maxPayloadFields: 10_000,
  maxDeadlineMs: 30_000,
  maxMessageBytes: 4 * 1024 * 1024,
  maxSubscriptions: 1000,
  subscriptionMaxLag: 100_000,
  subscriptionLagTimeoutMs: 60_000,
};

/** The limits a configuration sets. */
export function limitsOf(
  config: Record<"MAX_PAYLOAD_DEPTH" | "MAX_PAYLOAD_FIELDS" | "MAX_DEADLINE_MS" | "MAX_MESSAGE_BYTES" | "MAX_SUBSCRIPTIONS" | "SUBSCRIPTION_MAX_LAG" | "SUBSCRIPTION_LAG_TIMEOUT_MS", number>,
): RequestLimits {
  return {
    maxPayloadDepth: config.MAX_PAYLOAD_DEPTH,
    maxPayloadFields: config.MAX_PAYLOAD_FIELDS,
    maxDeadlineMs: config.MAX_DEADLINE_MS,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    maxSubscriptions: config.MAX_SUBSCRIPTIONS,
    subscriptionMaxLag: config.SUBSCRIPTION_MAX_LAG,
    subscriptionLagTimeoutMs: config.SUBSCRIPTION_LAG_TIMEOUT_MS,
  };
}

/**
 * Why a JSON-like payload is too deep or too large, or undefined when it is within the limits.
 * Walks iteratively (no recursion to overflow) and stops as soon as a limit is passed.
 */
export function payloadTooBig(payload: unknown, limits: Pick<RequestLimits, "maxPayloadDepth" | "maxPayloadFields">): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: payload, depth: 1 }];
  let values = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (depth > limits.maxPayloadDepth) return `payload is nested deeper than ${limits.maxPayloadDepth} levels`;
    const members = Array.isArray(value) ? value : Object.values(value);
    values += members.length;
    if (values > limits.maxPayloadFields) return `payload holds more than ${limits.maxPayloadFields} values`;
    for (const member of members) if (typeof member === "object" && member !== null) stack.push({ value: member, depth: depth + 1 });
  }
  return undefined;
}

/**
 * When a call must be answered: the client's deadline, cut to `maxDeadlineMs` from now (a call
 * without a deadline gets exactly that). Epoch milliseconds.
 */
export function effectiveDeadline(clientRemainingMs: number | undefined, maxDeadlineMs: number, now = Date.now()): number {
  const remaining = clientRemainingMs === undefined || !Number.isFinite(clientRemainingMs) ? maxDeadlineMs : Math.min(clientRemainingMs, maxDeadlineMs);
  return now + Math.max(0, remaining);
}

/** The DEADLINE_EXCEEDED every edge answers once a call outlives its effective deadline. */
export function deadlineExceeded(budgetMs: number): ConnectError {
  return edgeError(
    Code.DeadlineExceeded,
    "DEADLINE_EXCEEDED",
    `the call did not finish within its deadline of ${budgetMs} ms; a command is applied whole or not at all, so retry it with the same request_id`,
    { deadlineMs: String(budgetMs) },
  );
}

/**
 * Runs a call's work against its deadline: DEADLINE_EXCEEDED when the deadline passes first, or
 * when the work (which may have blocked the event loop, e.g. waiting on a locked store) only
 * finished after it. The work is not interrupted: a command it runs commits atomically or not at
 * all, and a retry with the same request id answers with whatever happened.
 */
export async function withinDeadline<T>(deadline: number, work: () => Promise<T>, now = Date.now): Promise<T> {
  const budgetMs = Math.max(0, Math.round(deadline - now()));
  if (budgetMs <= 0) throw deadlineExceeded(0);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadlineExceeded(budgetMs)), budgetMs);
  });
  const running = work();
  try {
    const outcome = await Promise.race([running, expired]);
    if (now() > deadline) throw deadlineExceeded(budgetMs);
    return outcome;
  } catch (error) {
    if (now() > deadline && !(error instanceof ConnectError && error.code === Code.DeadlineExceeded)) throw deadlineExceeded(budgetMs);
    throw error;
  } finally {
    clearTimeout(timer);
    running.catch(() => undefined); // a failure after the deadline was answered is not unhandled
  }
}

/**
 * Text with every lone UTF-16 surrogate replaced by U+FFFD. Clipping a caller's string by code
 * units can split a surrogate pair, and grpc-js percent-encodes grpc-message with `encodeURI`,
 * which throws on a lone surrogate: outside any handler, so the process would crash.
 */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/** The same error with a well-formed message (a copy only when it needs one). */
export function withWellFormedMessage(error: ConnectError): ConnectError {
  const message = wellFormed(error.rawMessage);
  if (message === error.rawMessage) return error;
  const outgoing = error.details.filter((d): d is Extract<ConnectError["details"][number], { desc: unknown }> => "desc" in d);
  return new ConnectError(message, error.code, error.metadata, outgoing, error.cause);
}
