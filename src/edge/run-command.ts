import { randomUUID } from "node:crypto";
import type { AnyCommand } from "../kernel/command.js";
import { authorize, narrowPolicy, type Policy } from "../kernel/policy.js";
import { resultOf, type CommandResult, type Outcome, type Violation } from "../kernel/result.js";
import { MAX_REQUEST_ID_LENGTH, type CommandEnvelope } from "../pipeline/envelope.js";
import type { CommandResult as CommandResultMessage } from "../gen/switchyard/command/v1/command_pb.js";
import { commandError } from "./command-error.js";
import { toProtoResult } from "./command-result.js";
import type { EdgeCall } from "./edge-service.js";
import type { FieldNames } from "./field-names.js";

/** What an edge mapper makes of a request: a domain command, or violations in the edge's own field names. */
export type Mapped =
  | {
      readonly ok: true;
      readonly type: string;
      readonly aggregateId?: string;
      readonly payload: unknown;
      readonly requestId: string;
      readonly expectedRevision?: bigint;
      /** Decide and answer without writing (CommandService.DryRun). */
      readonly dryRun?: boolean;
    }
  | { readonly ok: false; readonly type: string; readonly violations: readonly Violation[] };

/** Header that carries a correlation id across services. */
export const CORRELATION_HEADER = "x-correlation-id";
/** Header that names the message (an event, another command) that caused this command. */
export const CAUSATION_HEADER = "x-causation-id";

/** Anything that executes commands (the pipeline, or an app). */
export interface Executor {
  execute(envelope: CommandEnvelope): Promise<CommandResult>;
  /** The registered commands; with it an edge's gate states the rule its callers meet (see runCommand). */
  readonly registry?: ReadonlyMap<string, AnyCommand>;
}

/** Field names already in the edge's spelling. */
const AS_IS: FieldNames = { toEdge: (path) => path };

/**
 * Runs a mapped command and answers it the way every edge does: the CommandResult on
 * acceptance, otherwise the gRPC error from the README's "Errors" table with the CommandResult
 * attached. A mapping failure never reaches the pipeline, so it never touches storage.
 *
 * `edgeScopes` is the edge's own gate: who may use this contract at all, checked before the
 * input. Through it a command's policy narrows to the scopes and rules the gate lets through
 * (narrowPolicy), and a denial says that rule: a `bookings:read` caller of booking.v1's
 * BookRoom hears that it requires bookings:write, not the gate's whole list.
 */
export async function runCommand(
  executor: Executor,
  mapped: Mapped,
  fields: FieldNames,
  call: EdgeCall,
  edgeScopes: readonly string[] = [],
): Promise<CommandResultMessage> {
  const correlationId = call.header(CORRELATION_HEADER);
  const denied = edgeScopes.length > 0 ? gate(executor, mapped.type, edgeScopes, call) : undefined;
  if (denied) throw edgeFailure(mapped.type, correlationId, { status: "unauthorized", ...denied });
  if (!mapped.ok) {
    const violations = mapped.violations;
    const message = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
    throw edgeFailure(mapped.type, correlationId, { status: "invalid", reason: "VALIDATION_FAILED", violations, message });
  }
  call.log.requestId = mapped.requestId || undefined;
  const expected = mapped.expectedRevision;
  const result = await executor.execute({
    type: mapped.type,
    aggregateId: mapped.aggregateId,
    payload: mapped.payload,
    expectedRevision: expected === undefined ? undefined : expected > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(expected),
    metadata: { requestId: mapped.requestId || undefined, correlationId, causationId: call.header(CAUSATION_HEADER), identity: call.identity, traceparent: call.traceparent },
    dryRun: mapped.ok && mapped.dryRun,
  });
  call.log.correlationId = result.correlationId;
  call.log.status = result.status;
  if (result.status !== "accepted") throw commandError(result, fields);
  return toProtoResult(result, fields);
}

/** The edge gate's denial, if any: the command's policy as narrowed to the edge's scopes. */
function gate(executor: Executor, type: string, edgeScopes: readonly string[], call: EdgeCall) {
  const policy: Policy | undefined = executor.registry?.get(type)?.policy;
  const narrowed = policy ? narrowPolicy(policy, edgeScopes) : { scopes: edgeScopes };
  if (narrowed.scopes.length === 0 && !narrowed.rules?.length) {
    // No scope of the command's policy passes this edge: nobody may run it here.
    return { reason: "PERMISSION_DENIED" as const, message: `${type} cannot be run through ${call.method}` };
  }
  const access = authorize(narrowed, call.identity, type);
  return access.kind === "denied" ? { reason: access.reason, message: access.message } : undefined;
}

/**
 * The error for a command the edge refused before the pipeline saw it. The type and
 * correlation id are echoed in the error's trailer, so they are bounded: never the
 * caller's megabyte.
 */
function edgeFailure(type: string, correlationId: string | undefined, outcome: Extract<Outcome, { status: "unauthorized" | "invalid" }>) {
  const commandId = randomUUID();
  const base = {
    commandId,
    commandType: type.slice(0, MAX_REQUEST_ID_LENGTH),
    aggregateId: "",
    correlationId: (correlationId ?? commandId).slice(0, MAX_REQUEST_ID_LENGTH),
    replayed: false,
  };
  return commandError(resultOf(base, outcome), AS_IS);
}
