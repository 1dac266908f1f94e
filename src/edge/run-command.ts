import { randomUUID } from "node:crypto";
import { authorize } from "../kernel/policy.js";
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
    }
  | { readonly ok: false; readonly type: string; readonly violations: readonly Violation[] };

/** Header that carries a correlation id across services. */
export const CORRELATION_HEADER = "x-correlation-id";
/** Header that names the message (an event, another command) that caused this command. */
export const CAUSATION_HEADER = "x-causation-id";

/** Anything that executes commands (the pipeline, or an app). */
export interface Executor {
  execute(envelope: CommandEnvelope): Promise<CommandResult>;
}

/** Field names already in the edge's spelling. */
const AS_IS: FieldNames = { toEdge: (path) => path };

/**
 * Runs a mapped command and answers it the way every edge does: the CommandResult on
 * acceptance, otherwise the gRPC error from the README's "Errors" table with the CommandResult
 * attached. A mapping failure never reaches the pipeline, so it never touches storage.
 */
export async function runCommand(
  executor: Executor,
  mapped: Mapped,
  fields: FieldNames,
  call: EdgeCall,
  edgeScopes: readonly string[] = [],
): Promise<CommandResultMessage> {
  const correlationId = call.header(CORRELATION_HEADER);
  // The edge's own gate (who may use this contract at all) comes before the command's policy.
  const denied = edgeScopes.length > 0 ? authorize({ scopes: edgeScopes }, call.identity) : undefined;
  if (denied?.kind === "denied") {
    throw edgeFailure(mapped.type, correlationId, { status: "unauthorized", reason: denied.reason, message: denied.message });
  }
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
    metadata: { requestId: mapped.requestId || undefined, correlationId, causationId: call.header(CAUSATION_HEADER), identity: call.identity },
  });
  call.log.correlationId = result.correlationId;
  call.log.status = result.status;
  if (result.status !== "accepted") throw commandError(result, fields);
  return toProtoResult(result, fields);
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
