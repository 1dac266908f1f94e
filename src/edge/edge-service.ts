import type { DescMessage, DescMethodUnary, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
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
}

/** A unary handler: a decoded request in, a response (or a thrown ConnectError) out. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  call: EdgeCall,
) => Promise<MessageInitShape<O>>;

/** Handlers for every method of a proto service, keyed by the method's local name. */
export type EdgeImpl<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethodUnary<infer I, infer O> ? UnaryHandler<I, O> : never;
};

/** A proto service and its handlers, ready to be served on any transport. */
export interface EdgeService<S extends DescService = DescService> {
  readonly service: S;
  readonly impl: EdgeImpl<S>;
}

/** Pairs a service with its handlers, checking that every method has one. */
export function edgeService<S extends DescService>(service: S, impl: EdgeImpl<S>): EdgeService<S> {
  return { service, impl };
}

/** The handler of a method, untyped, for transport adapters. */
export function handlerOf(edge: EdgeService, localName: string): UnaryHandler<DescMessage, DescMessage> {
  return (edge.impl as Record<string, UnaryHandler<DescMessage, DescMessage>>)[localName];
}
