import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { DEFAULT_TENANT, type Identity } from "../kernel/identity.js";
import { edgeError, malformedRequest } from "./command-error.js";
import type { Drain } from "./drain.js";
import type { EdgeCall } from "./edge-service.js";
import { effectiveDeadline, withinDeadline, withWellFormedMessage } from "./limits.js";
import { codeName, toConnectError } from "./rpc-outcome.js";

/** Who is calling, from request headers and (with mTLS) the client certificate. */
export type Authenticate = (request: {
  header(name: string): string | undefined;
  peerCertificateSubject?: string;
}) => Promise<Identity>;

/** What a transport knows of an incoming call before any handler runs. */
export interface IncomingCall {
  /** "/booking.v1.BookingService/BookRoom" */
  readonly method: string;
  /** For the log line: "grpc", "connect", "grpc_web". */
  readonly protocol: string;
  header(name: string): string | undefined;
  readonly peerCertificateSubject?: string;
  /** What is left of the client's deadline, in ms; undefined when it set none. */
  readonly clientTimeoutMs?: number;
  /** Aborted when the client goes away (cancel, reset, closed connection). */
  readonly cancelled?: AbortSignal;
  /** Why the request could not be decoded, when it could not: the call is INVALID_ARGUMENT. */
  readonly malformed?: string;
  /** The method's request type, for the malformed-request message. */
  readonly requestType: string;
  /** Served without authentication (health). */
  readonly public?: boolean;
  /** The transport sends attached encodings as they are (EdgeCall.sendsEncoded). */
  readonly sendsEncoded?: boolean;
}

/** What one call lifecycle serves calls with; shared by the gRPC and the HTTP port. */
export interface CallLifecycleOptions {
  readonly authenticate: Authenticate;
  readonly drain: Drain;
  readonly logger: Logger;
  /** Longest a unary call may run (MAX_DEADLINE_MS); streams live until cancelled, their own deadline, or drain. */
  readonly maxDeadlineMs: number;
  /** Told of every finished call: where metrics attach. */
  readonly onCallEnd?: (ended: CallEnded) => void;
  /** Watches each call from its start to its end: where a trace span opens, its context around the call's work. */
  readonly watchCall?: (incoming: IncomingCall) => CallWatch;
}

/** One call as a watcher (tracing) follows it. */
export interface CallWatch {
  /** Runs the call's work inside the watcher's context (the RPC's span), so what it does nests there. */
  run<T>(work: () => T): T;
  /** The W3C trace context of the call, passed to handlers (EdgeCall.traceparent). */
  readonly traceparent?: string;
  end(code: Code | 0): void;
}

/** A finished call, as the log line and `onCallEnd` see it. */
export interface CallEnded {
  readonly method: string;
  readonly protocol: string;
  readonly code: Code | 0;
  readonly durationMs: number;
  readonly streaming: boolean;
}

/** The signal of a unary call whose transport tells no cancellation (grpc-js): it never aborts. */
const NEVER_ABORTED = new AbortController().signal;

/** The identity of a caller of a public service (health): nobody in particular. */
const ANONYMOUS: Identity = Object.freeze({ tenant: DEFAULT_TENANT, scopes: Object.freeze([]) as readonly string[], authenticated: false });

/**
 * One lifecycle for every call on both ports, unary or server-streaming: admitted unless
 * draining, the request checked, the caller authenticated, the work run against its deadline
 * with an abort signal, any failure mapped to a ConnectError with AIP-193 details, and one
 * log line at the end. Transports (grpc-server.ts, connect-routes.ts) only translate.
 */
export function createCallLifecycle(options: CallLifecycleOptions) {
  const { drain, logger } = options;

  async function identify(incoming: IncomingCall): Promise<Identity> {
    if (incoming.malformed !== undefined) {
      throw malformedRequest(incoming.requestType, incoming.malformed);
    }
    if (incoming.public) return ANONYMOUS;
    return options.authenticate({ header: incoming.header, peerCertificateSubject: incoming.peerCertificateSubject });
  }

  function finish(incoming: IncomingCall, started: bigint, code: Code | 0, streaming: boolean, log: Record<string, unknown>): void {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    logger.info({ rpc: incoming.protocol, method: incoming.method, code: codeName(code), durationMs, ...log }, "rpc");
    options.onCallEnd?.({ method: incoming.method, protocol: incoming.protocol, code, durationMs, streaming });
  }

  function failure(thrown: unknown, method: string): ConnectError {
    return withWellFormedMessage(toConnectError(thrown, logger, method));
  }

  return {
    /**
     * Runs a unary call's work within its deadline (the client's, cut to MAX_DEADLINE_MS).
     * Resolves with the work's result or rejects with the ConnectError to answer.
     */
    async unary<T>(incoming: IncomingCall, work: (call: EdgeCall) => Promise<T>): Promise<T> {
      const started = process.hrtime.bigint();
      const log: Record<string, unknown> = {};
      const watch = options.watchCall?.(incoming);
      const leave = drain.draining ? undefined : drain.enter();
      let code: Code | 0 = 0;
      try {
        if (!leave) throw draining();
        const deadline = effectiveDeadline(incoming.clientTimeoutMs, options.maxDeadlineMs);
        const run = async () => {
          // Counted until the work itself ends, even when the deadline answered first: shutdown waits for it.
          const workDone = drain.enter();
          try {
            const identity = await identify(incoming);
            // No AbortController of its own: one per call costs measurably on this hot path, and
            // a unary call's deadline is kept by withinDeadline.
            return await work({ method: incoming.method, identity, header: incoming.header, log, signal: incoming.cancelled ?? NEVER_ABORTED, traceparent: watch?.traceparent, deadline });
          } finally {
            workDone();
          }
        };
        return await withinDeadline(deadline, watch ? () => watch.run(run) : run);
      } catch (thrown) {
        const error = failure(thrown, incoming.method);
        code = error.code;
        throw error;
      } finally {
        leave?.();
        watch?.end(code);
        finish(incoming, started, code, false, log);
      }
    },

    /**
     * Runs a server-streaming call: `messages` yields what the handler yields until it
     * returns, the client cancels, the client's own deadline passes, or the server drains;
     * then throws the ConnectError to end the call with, or returns for OK. MAX_DEADLINE_MS
     * does not apply. `stopped` aborts when the call should end: a transport waiting for room
     * to write stops waiting (the handler is finishing, and its status follows what it wrote).
     */
    stream<T>(incoming: IncomingCall, work: (call: EdgeCall) => AsyncIterable<T>): { messages: AsyncGenerator<T, void, undefined>; stopped: AbortSignal } {
      const controller = new AbortController();
      const stop = (reason: ConnectError) => {
        if (!controller.signal.aborted) controller.abort(reason);
      };
      async function* messages(): AsyncGenerator<T, void, undefined> {
        const started = process.hrtime.bigint();
        const log: Record<string, unknown> = {};
        const watch = options.watchCall?.(incoming);
        let code: Code | 0 = 0;
        let ended = false;
        const leave = drain.draining ? undefined : drain.enterStream(() => stop(draining()));
        // The client is gone: the call stops counting for shutdown at once, since a transport stuck
        // writing to a dead connection may never take another message from this generator.
        const onCancel = () => {
          stop(cancellation(incoming.cancelled?.reason));
          leave?.();
        };
        incoming.cancelled?.addEventListener("abort", onCancel, { once: true });
        if (incoming.cancelled?.aborted) onCancel();
        const budget = incoming.clientTimeoutMs;
        const timer = budget !== undefined && Number.isFinite(budget) ? setTimeout(() => stop(streamDeadline(Math.round(budget))), Math.max(0, budget)) : undefined;
        try {
          if (!leave) throw draining();
          const identity = await identify(incoming);
          const call: EdgeCall = { method: incoming.method, identity, header: incoming.header, log, signal: controller.signal, sendsEncoded: incoming.sendsEncoded, end: stop, traceparent: watch?.traceparent };
          // A message the handler yields after the signal aborted is still passed on (health's
          // last NOT_SERVING before a drain ends the stream): the handler decides when to stop.
          for await (const message of work(call)) yield message;
          if (controller.signal.aborted) throw controller.signal.reason;
          ended = true;
        } catch (thrown) {
          // A write that failed because the client went away is the client's cancel, not a bug.
          const error = incoming.cancelled?.aborted || clientWentAway(thrown) ? cancellation(incoming.cancelled?.reason) : failure(thrown, incoming.method);
          code = error.code;
          ended = true;
          throw error;
        } finally {
          // Not ended here: the transport stopped taking messages, because the client went away.
          if (!ended) code = controller.signal.aborted ? (controller.signal.reason as ConnectError).code : Code.Canceled;
          clearTimeout(timer);
          incoming.cancelled?.removeEventListener("abort", onCancel);
          leave?.();
          watch?.end(code);
          finish(incoming, started, code, true, log);
        }
      }
      return { messages: messages(), stopped: controller.signal };
    },
  };
}

export type CallLifecycle = ReturnType<typeof createCallLifecycle>;

/** The DEADLINE_EXCEEDED a stream ends with at its client's deadline. */
function streamDeadline(budgetMs: number): ConnectError {
  return edgeError(Code.DeadlineExceeded, "DEADLINE_EXCEEDED", `the stream reached its deadline of ${budgetMs} ms`, { deadlineMs: String(budgetMs) });
}

/** The error a call ends with when its transport aborted it: the transport's own (connect's timeout), or CANCELLED. */
function cancellation(reason: unknown): ConnectError {
  if (reason instanceof ConnectError && reason.code !== Code.Canceled && reason.code !== Code.Aborted) return reason;
  return new ConnectError("the client cancelled the call", Code.Canceled);
}

/** Errors of writing to a connection the client closed or reset. */
function clientWentAway(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "ECONNRESET" || code === "ERR_STREAM_DESTROYED" || code === "ERR_STREAM_WRITE_AFTER_END" || code === "ERR_HTTP2_INVALID_STREAM";
}

function draining(): ConnectError {
  return edgeError(Code.Unavailable, "DRAINING", "the server is shutting down; retry on another instance");
}
