/** An event as a decider produces it: a type and a plain JSON-serializable body. */
export interface DomainEvent<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
}

/** Builds a typed event; `event("RoomBooked", {...})` reads like the fact it records. */
export function event<const T extends string, D>(type: T, data: D): DomainEvent<T, D> {
  return { type, data };
}

/** Who caused a command, kept in every event's metadata (the "event record" idea). */
export interface EventMetadata {
  readonly commandId: string;
  readonly commandType: string;
  readonly requestId: string;
  readonly correlationId: string;
  /** The command that caused the event: equal to `commandId`. */
  readonly causationId: string;
  /** The message that caused the command (the causation id its caller sent), when one was given. */
  readonly commandCausationId?: string;
  readonly userId?: string;
  readonly tenant: string;
  readonly clientId?: string;
  readonly timestamp: string;
  /** The W3C trace context of the command (see www.w3.org/TR/trace-context), so a consumer of the event can continue its trace. */
  readonly traceparent?: string;
  /** How many reactions lie between the command a caller sent and this event's command; absent for 0. */
  readonly reactionDepth?: number;
}

/** An event as the store holds it. Revisions start at 1 per stream; positions at 1 overall. */
export interface RecordedEvent {
  readonly id: string;
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
}
