import type { DescMessage, DescMethodServerStreaming, DescMethodUnary, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import type { Identity } from "../kernel/identity.js";

/** One RPC as a handler sees it, the same whichever transport carried it. */
export interface EdgeCall {
  /** "/booking.v1.BookingService/BookRoom" */
  readonly method: string;
  readonly identity: Identity;
  /** A request header (gRPC metadata), lower-case name. */
  header(name: string): string | undefined;
  /** Facts for the RPC's log line (request id, correlation id), filled in by handlers. */
  readonly log: Record<string, unknown>;
  /**
   * Aborted when the call should stop. A stream's: the client cancelled, its own deadline
   * passed, or the server drains; its reason is the ConnectError the call ends with unless
   * the handler throws a more specific one (a stream's resume position, say). A unary call's
   * only when the transport tells the client cancelled (its deadline is kept around it).
   */
  readonly signal: AbortSignal;
  /**
   * When a unary call's answer is due (Date.now() milliseconds): the client's deadline, cut to
   * MAX_DEADLINE_MS. A handler that waits (a read for min_position) stops in time to answer
   * with its own error instead of DEADLINE_EXCEEDED. Absent on streams.
   */
  readonly deadline?: number;
  /**
   * True when the transport sends a response's attached encoding as it is without reading its
   * fields (the gRPC port), so a handler may answer with protobuf-codec's encodedMessage.
   */
  readonly sendsEncoded?: boolean;
  /**
   * Ends a stream from outside its handler's own flow (a timer, say): its signal aborts with
   * `reason`, and a transport waiting for the client to take what was sent stops waiting.
   * Absent on unary calls.
   */
  readonly end?: (reason: ConnectError) => void;
  /** The call's W3C trace context (its RPC span's, continuing the caller's traceparent), when there is one. */
  readonly traceparent?: string;
}

/** A unary handler: a decoded request in, a response (or a thrown ConnectError) out. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  call: EdgeCall,
) => Promise<MessageInitShape<O>>;

/**
 * A server-streaming handler: the messages it yields are sent as they come, each after the
 * previous one was taken by the transport, so a slow client slows the handler down instead of
 * queueing messages in memory. Returning ends the call OK; throwing ends it with that error.
 */
export type StreamHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  call: EdgeCall,
) => AsyncIterable<MessageInitShape<O>>;

/** Handlers for every method of a proto service, keyed by the method's local name. */
export type EdgeImpl<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethodUnary<infer I, infer O>
    ? UnaryHandler<I, O>
    : S["method"][K] extends DescMethodServerStreaming<infer I, infer O>
      ? StreamHandler<I, O>
      : never;
};

/** A proto service and its handlers, ready to be served on any transport. */
export interface EdgeService<S extends DescService = DescService> {
  readonly service: S;
  readonly impl: EdgeImpl<S>;
  /** Served without authentication (the standard health service): the caller is anonymous. */
  readonly public?: boolean;
}

/** Pairs a service with its handlers, checking that every method has one. */
export function edgeService<S extends DescService>(service: S, impl: EdgeImpl<S>, options: { public?: boolean } = {}): EdgeService<S> {
  return { service, impl, public: options.public };
}

/** The handler of a unary method, untyped, for transport adapters. */
export function handlerOf(edge: EdgeService, localName: string): UnaryHandler<DescMessage, DescMessage> {
  return (edge.impl as Record<string, UnaryHandler<DescMessage, DescMessage>>)[localName];
}

/** The handler of a server-streaming method, untyped, for transport adapters. */
export function streamHandlerOf(edge: EdgeService, localName: string): StreamHandler<DescMessage, DescMessage> {
  return (edge.impl as Record<string, StreamHandler<DescMessage, DescMessage>>)[localName];
}
