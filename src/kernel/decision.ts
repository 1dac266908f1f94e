import type { DomainEvent } from "./events.js";
import type { CommandSchedule } from "./schedule.js";

/** A business rule said no. `code` is stable UPPER_SNAKE_CASE; clients branch on it. */
export interface Rejection<C extends string = string> {
  readonly kind: "rejection";
  readonly code: C;
  readonly message: string;
}

/** Events to append plus an optional response value that travels beside them. */
export interface Acceptance<E extends DomainEvent = DomainEvent, R = unknown> {
  readonly kind: "acceptance";
  readonly events: readonly E[];
  readonly response?: R;
  /** Events for the command's related streams, by the name it declares them under. */
  readonly related?: Readonly<Record<string, readonly DomainEvent[]>>;
  /** Commands to run later, stored with the events (see schedule.ts). */
  readonly schedule?: readonly CommandSchedule[];
}

/** What an acceptance may carry besides its events and response; each key is optional. */
export interface AcceptOptions {
  /** Events to append to the command's related streams, by name, in the same atomic append. */
  readonly related?: Readonly<Record<string, readonly DomainEvent[]>>;
  /** Commands to run later, stored in the same transaction as the events. */
  readonly schedule?: readonly CommandSchedule[];
}

/** What `decide` may return: one event, several, an acceptance with a response, or a rejection. */
export type Decision<E extends DomainEvent, R = unknown, C extends string = string> =
  | E
  | readonly E[]
  | Acceptance<E, R>
  | Rejection<C>;

/** Refuses a command with a stable code and a message for humans. */
export function reject<const C extends string>(code: C, message: string): Rejection<C> {
  return { kind: "rejection", code, message };
}

/**
 * Accepts a command with events and a response value (the response is not an event), and
 * in `options` what else the acceptance holds: events for related streams, commands to run later.
 */
export function accept<E extends DomainEvent, R>(events: readonly E[], response?: R, options?: AcceptOptions): Acceptance<E, R> {
  const acceptance: Acceptance<E, R> = { kind: "acceptance", events, response };
  if (options?.related === undefined && !options?.schedule?.length) return acceptance;
  return { ...acceptance, ...(options.related && { related: options.related }), ...(options.schedule?.length ? { schedule: options.schedule } : {}) };
}

/** Normalizes any Decision into an Acceptance or a Rejection. */
export function settle<E extends DomainEvent>(decision: Decision<E>): Acceptance<E> | Rejection {
  if (Array.isArray(decision)) return { kind: "acceptance", events: decision };
  const single = decision as Exclude<Decision<E>, readonly E[]>;
  if ("kind" in single && (single.kind === "rejection" || single.kind === "acceptance")) return single;
  return { kind: "acceptance", events: [single as E] };
}
