import type { DomainEvent } from "./events.js";

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
}

/** What an acceptance may carry besides its events and response; each key is optional. */
export interface AcceptOptions {
  /** Events to append to the command's related streams, by name, in the same atomic append. */
  readonly related?: Readonly<Record<string, readonly DomainEvent[]>>;
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
 * in `options` what else the acceptance holds, such as events for related streams.
 */
export function accept<E extends DomainEvent, R>(events: readonly E[], response?: R, options?: AcceptOptions): Acceptance<E, R> {
  if (options?.related === undefined) return { kind: "acceptance", events, response };
  return { kind: "acceptance", events, response, related: options.related };
}

/** Normalizes any Decision into an Acceptance or a Rejection. */
export function settle<E extends DomainEvent>(decision: Decision<E>): Acceptance<E> | Rejection {
  if (Array.isArray(decision)) return { kind: "acceptance", events: decision };
  const single = decision as Exclude<Decision<E>, readonly E[]>;
  if ("kind" in single && (single.kind === "rejection" || single.kind === "acceptance")) return single;
  return { kind: "acceptance", events: [single as E] };
}
