import type { z } from "zod";
import type { CommandDefinition } from "./command.js";
import type { EventMetadata, RecordedEvent } from "./events.js";

/** An event as a reaction sees it: the recorded event and the tenant it was written in. */
export interface ReactionEvent<T extends string = string, D = unknown> {
  readonly id: string;
  readonly type: T;
  readonly data: D;
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
  readonly metadata: EventMetadata;
  readonly tenant: string;
}

/** A command a reaction asks to run; the runner issues it through the pipeline in the event's tenant. */
export interface CommandToIssue {
  readonly kind: "command";
  readonly type: string;
  readonly aggregateId: string;
  readonly payload: unknown;
}

/**
 * A call on a collaborator (a port such as GuestNotifier), held as data so that `react` stays
 * pure and a test can read what it asked for; the runner makes the call.
 */
export interface CollaboratorCall {
  readonly kind: "call";
  readonly port: string;
  readonly method: string;
  readonly argument: unknown;
}

/** What a reaction asks for, in order. */
export type ReactionEffect = CommandToIssue | CollaboratorCall;

/** What every collaborator method a reaction calls receives besides its argument. */
export interface CallContext {
  /**
   * The same for every attempt of one effect: a receiver that may see a call twice (a crash
   * after it answered, before the runner noted it) tells the two apart by it.
   */
  readonly idempotencyKey: string;
  readonly signal: AbortSignal;
}

/** The methods of a port a reaction may call: one argument and a CallContext, nothing returned. */
type CallableMethods<Port> = {
  [M in keyof Port & string]: Port[M] extends (argument: any, context: CallContext) => Promise<void> ? M : never;
}[keyof Port & string];

/** The argument of a port's method. */
type ArgumentOf<Port, M extends keyof Port> = Port[M] extends (argument: infer A, context: CallContext) => Promise<void> ? A : never;

/**
 * Looks up a read model document: a typed hook for reactions that need more than the event;
 * the runner provides it once read models are wired, and leaves it undefined until then.
 */
export type ReadModelLookup = (collection: string, id: string) => Promise<Readonly<Record<string, unknown>> | undefined>;

/** What `react` may use besides the event: builders for its effects, and read access. */
export interface ReactionContext<Ports> {
  /** A command of a registered definition, its aggregate id taken from the payload. */
  issue<Schema extends z.ZodType>(command: CommandDefinition<string, Schema, any, any, any, any>, payload: z.input<Schema>): CommandToIssue;
  /** A call on a port, typed by the reaction's Ports. */
  call<K extends keyof Ports & string, M extends CallableMethods<Ports[K]>>(port: K, method: M, argument: ArgumentOf<Ports[K], M>): CollaboratorCall;
  readonly readModel?: ReadModelLookup;
}

/**
 * A process manager's step: the event types it follows and a decide-like function from one of
 * them to the commands to issue and collaborators to call. `react` reads no clock and writes
 * nothing; the runner carries out what it returns, once per event, in the event's tenant,
 * with the event's correlation id and the event as the cause.
 */
export interface Reaction<Ports = Record<string, unknown>, T extends string = string> {
  /** Stable lower-case name ("booking.confirm-paid-bookings"): it names the checkpoint and every request id the reaction derives. */
  readonly name: string;
  readonly eventTypes: readonly T[];
  react(event: ReactionEvent<T>, context: ReactionContext<Ports>): readonly ReactionEffect[] | Promise<readonly ReactionEffect[]>;
}

/** Declares a reaction; the identity function that lets TypeScript check its ports. */
export function defineReaction<Ports = Record<string, unknown>>() {
  return <const T extends string>(reaction: Reaction<Ports, T>): Reaction<Ports, T> => reaction;
}

/** Any reaction, for registries that hold several. */
export type AnyReaction = Reaction<any, string>;

/** The builders a runner (or a test) hands to `react`. */
export function reactionContext<Ports>(readModel?: ReadModelLookup): ReactionContext<Ports> {
  return {
    issue: (command, payload) => ({
      kind: "command",
      type: command.type,
      aggregateId: String((payload as Record<string, unknown>)[command.aggregateIdField]),
      payload,
    }),
    call: (port, method, argument) => ({ kind: "call", port, method, argument }),
    readModel,
  };
}

/** A recorded event told with its tenant, as a reaction receives it. */
export function reactionEventOf(event: RecordedEvent, tenant: string): ReactionEvent {
  return { id: event.id, type: event.type, data: event.data, streamId: event.streamId, revision: event.revision, position: event.position, metadata: event.metadata, tenant };
}
