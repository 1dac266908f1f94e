/** One invalid field; `field` is a dotted path in the payload ("amount.currency"). */
export interface Violation {
  readonly field: string;
  readonly description: string;
}

/** An event a command wrote, as the result reports it. */
export interface WrittenEvent {
  readonly id: string;
  readonly type: string;
  readonly revision: number;
  readonly position: number;
  /**
   * The stream it was written to when that is not the command's own: one of the command's
   * related streams (CommandDefinition.related). Absent for the command's own events, which
   * come first.
   */
  readonly streamId?: string;
}

/** Facts every result carries, whatever its status. */
export interface ResultBase {
  readonly commandId: string;
  readonly commandType: string;
  readonly aggregateId: string;
  readonly correlationId: string;
  /** True when returned from the idempotency store instead of being executed again. */
  readonly replayed: boolean;
}

/**
 * Why a request was invalid: bad fields, an unknown type, a reused request id, or an event it
 * would write that is larger than the service can read back (PipelineOptions.maxEventChars).
 */
export type InvalidReason = "VALIDATION_FAILED" | "UNKNOWN_COMMAND" | "REQUEST_ID_REUSED" | "EVENT_TOO_LARGE";

/**
 * Every outcome of a command, as one discriminated type (the Cratis idea: success,
 * authorization, validation and failure are separate facts, and the response value
 * travels apart from the events).
 */
export type CommandResult = ResultBase &
  (
    | {
        readonly status: "accepted";
        readonly revision: number;
        /** Position of the last event written; 0 when the command wrote none. */
        readonly position: number;
        readonly events: readonly WrittenEvent[];
        readonly response?: unknown;
      }
    | { readonly status: "invalid"; readonly reason: InvalidReason; readonly violations: readonly Violation[]; readonly message: string }
    | { readonly status: "rejected"; readonly code: string; readonly message: string; readonly revision: number }
    | { readonly status: "not_found"; readonly message: string }
    | { readonly status: "already_exists"; readonly message: string; readonly revision: number }
    | { readonly status: "conflict"; readonly expectedRevision: number; readonly actualRevision: number; readonly message: string }
    | { readonly status: "unauthorized"; readonly reason: "UNAUTHENTICATED" | "PERMISSION_DENIED"; readonly message: string }
    | { readonly status: "unavailable"; readonly message: string }
    | { readonly status: "failed"; readonly errorId: string }
  );

export type CommandStatus = CommandResult["status"];

/** What a result says beyond the facts every result carries: its status and that status's fields. */
export type Outcome = CommandResult extends infer R ? (R extends ResultBase ? Omit<R, keyof ResultBase> : never) : never;

/**
 * A result from the facts every result carries and an outcome. (Object.assign rather than
 * `{ ...base, status, … }`: see copy-with.ts for why spreads stay off hot paths.)
 */
export function resultOf<O extends Outcome>(base: ResultBase, outcome: O): ResultBase & O {
  return Object.assign({}, base, outcome);
}

/** The result of a given status, e.g. `ResultOf<"accepted">`. */
export type ResultOf<S extends CommandStatus> = Extract<CommandResult, { status: S }>;

/**
 * Statuses that are the command's settled answer and so are kept for idempotent replay.
 * NOT_FOUND is not among them: the aggregate may be created later (a payment notification
 * can arrive before its booking), and a redelivery with the same request id must then run.
 */
export const REPLAYABLE: ReadonlySet<CommandStatus> = new Set(["accepted", "rejected", "already_exists"]);
