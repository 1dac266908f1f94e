import type { z } from "zod";
import type { Aggregate } from "./aggregate.js";
import type { Collaborators } from "./collaborators.js";
import type { Decision } from "./decision.js";
import type { DomainEvent } from "./events.js";
import type { Identity } from "./identity.js";
import type { Policy } from "./policy.js";

/** Whether the command's stream must not exist yet, must exist, or either. */
export type StreamExpectation = "must-be-new" | "must-exist" | "any";

/** What `decide` receives besides the state: the validated command and its context. */
export interface CommandInput<P> {
  readonly aggregateId: string;
  readonly payload: P;
}

/**
 * Another stream a command decides over besides its own, e.g. the room a booking reserves
 * nights on. Its id follows from the validated payload and, when the payload does not name
 * it, from the command's own state (a cancellation finds the room on the booking). The
 * pipeline guards the append by this stream's revision as well, so a decision over it can
 * never rest on a state another command has moved on.
 */
export interface RelatedStream<P = any, OwnState = any, S = any, E extends DomainEvent = DomainEvent> {
  readonly aggregate: Aggregate<S, E>;
  /** The related aggregate's id; "" when the command has none (its own stream is new or absent). */
  id(payload: P, state: OwnState): string;
}

/** A command's related streams by the name `decide` sees them under in `ctx.related`. */
export type RelatedStreams = Readonly<Record<string, RelatedStream>>;

/** The states of a command's related streams, by name, typed from their aggregates. */
export type RelatedStates<Rel> = { readonly [K in keyof Rel]: Rel[K] extends RelatedStream<any, any, infer S, any> ? S : never };

/** The world as a decider may see it: who asks, and the injected collaborators. */
export interface DecideContext<Rel = RelatedStreams> extends Collaborators {
  readonly identity: Identity;
  /** Revision of the stream the state was loaded at (0 when the stream is new). */
  readonly revision: number;
  /** The states of the related streams the command declares (an empty object when it declares none). */
  readonly related: RelatedStates<Rel>;
}

/**
 * One command, one file (the Bounda shape): a zod payload schema that builds the value
 * objects, the stream expectation, the policy, the rejection codes it may return, and
 * `decide`. The payload field named by `aggregateIdField` is the aggregate id.
 */
export interface CommandDefinition<
  T extends string = string,
  Schema extends z.ZodType = z.ZodType,
  S = any,
  E extends DomainEvent = DomainEvent,
  R = unknown,
  C extends string = string,
  Rel extends RelatedStreams = {},
> {
  /** "<aggregate>.<PascalCaseName>", e.g. "booking.RecordPayment". */
  readonly type: T;
  readonly aggregate: Aggregate<S, E>;
  readonly payload: Schema;
  readonly aggregateIdField: keyof z.input<Schema> & string;
  readonly stream: StreamExpectation;
  readonly policy: Policy<S, z.output<Schema>>;
  readonly rejections: readonly C[];
  /**
   * Rejections that the passing of time alone may lift (a payment time still ahead of the
   * clock): not kept under the request id, so a retry with the same id is decided again
   * rather than answered with the rejection for the whole retention window. Every other
   * rejection is the command's settled answer and is replayed.
   */
  readonly transientRejections?: readonly C[];
  /**
   * Other streams the command decides over; its decision may append to them too (`accept`'s
   * options), in the same atomic append as its own events.
   */
  readonly related?: Rel;
  decide(state: S, command: CommandInput<z.output<Schema>>, ctx: DecideContext<Rel>): Decision<E, R, C>;
}

/** Declares a command; the identity function that lets TypeScript infer every type. */
export function defineCommand<
  const T extends string,
  Schema extends z.ZodType,
  S,
  E extends DomainEvent,
  R = never,
  const C extends string = never,
  const Rel extends RelatedStreams = {},
>(definition: CommandDefinition<T, Schema, S, E, R, C, Rel>): CommandDefinition<T, Schema, S, E, R, C, Rel> {
  return definition;
}

/** Any command definition, for registries that hold several. */
export type AnyCommand = CommandDefinition<string, z.ZodType, any, DomainEvent, any, string, any>;

/** "booking.RecordPayment" → "recordPayment", the in-process method name. */
export type MethodName<T extends string> = T extends `${string}.${infer N}` ? Uncapitalize<N> : Uncapitalize<T>;

/** Runtime twin of MethodName. */
export function methodName(type: string): string {
  const name = type.slice(type.lastIndexOf(".") + 1);
  return name.charAt(0).toLowerCase() + name.slice(1);
}
