import type { AnyCommand } from "../../kernel/command.js";
import { CommandService } from "../../gen/switchyard/command/v1/command_pb.js";
import { edgeService } from "../../edge/edge-service.js";
import { payloadFieldNames, type FieldNames } from "../../edge/field-names.js";
import type { EdgeCall } from "../../edge/edge-service.js";
import { describeCommand, type EdgeRoute } from "./describe.js";
import { DEFAULT_LIMITS, payloadTooBig, type RequestLimits } from "../../edge/limits.js";
import { runCommand, type Executor } from "../../edge/run-command.js";
import { MAX_ID_LENGTH } from "../../domain/values/fields.js";
import type { ExecuteRequest } from "../../gen/switchyard/command/v1/command_pb.js";
import type { Violation } from "../../kernel/result.js";
import { noScheduleHandlers, scheduleHandlers, type ScheduleEdge } from "./schedule-handlers.js";

/** Longest command type accepted ("booking.RecordPayment" is 21). */
export const MAX_COMMAND_TYPE_LENGTH = 128;

/** Envelope fields of ExecuteRequest, as the pipeline names them and as the proto does. */
const executeFields = payloadFieldNames("payload", {
  type: "command_type",
  aggregateId: "aggregate_id",
  requestId: "request_id",
  correlationId: "correlation_id",
  expectedRevision: "expected_revision",
});

/**
 * switchyard.command.v1.CommandService: any registered command by type (the generic
 * edge), its dry run, and a description of every command for humans and client generators.
 * `edgeRoutes` maps RPC paths of the typed edges to the command type each one runs, and
 * `edgeFields` to how each names the payload's fields. With `scheduling`, it also schedules
 * commands and tends dead letters (schedule-handlers.ts).
 */
export function commandServiceV1(
  app: Executor & { registry: ReadonlyMap<string, AnyCommand> },
  edgeRoutes: Readonly<Record<string, string>>,
  limits: Pick<RequestLimits, "maxPayloadDepth" | "maxPayloadFields"> = DEFAULT_LIMITS,
  edgeFields: Readonly<Record<string, FieldNames>> = {},
  scheduling?: ScheduleEdge,
) {
  const path = (method: { name: string }) => `/${CommandService.typeName}/${method.name}`;
  const routes: Record<string, EdgeRoute> = {};
  for (const command of app.registry.values()) {
    for (const [rpc, type] of Object.entries(edgeRoutes)) if (type === command.type) routes[rpc] = { commandType: type, fields: edgeFields[rpc] ?? AS_IS };
  }
  const generic = [path(CommandService.method.execute), path(CommandService.method.dryRun)];
  const descriptions = [...app.registry.values()].map((command) =>
    describeCommand(command, { ...routes, ...Object.fromEntries(generic.map((rpc) => [rpc, { commandType: command.type, fields: executeFields }])) }),
  );

  /** Execute and DryRun alike: the envelope checked, then the command run (or only decided). */
  const run = (request: ExecuteRequest, call: EdgeCall, dryRun: boolean) => {
    const violations = envelopeViolations(request, limits);
    if (violations.length > 0) return runCommand(app, { ok: false, type: request.commandType, violations }, executeFields, call);
    return runCommand(
      app,
      {
        ok: true,
        type: request.commandType,
        aggregateId: request.aggregateId,
        payload: request.payload ?? {},
        requestId: request.requestId,
        expectedRevision: request.expectedRevision,
        dryRun,
      },
      executeFields,
      call,
    );
  };

  return edgeService(CommandService, {
    execute: (request, call) => run(request, call, false),
    dryRun: (request, call) => run(request, call, true),
    describeCommands: async () => ({ commands: descriptions }),
    ...(scheduling ? scheduleHandlers(scheduling, (request) => envelopeViolations(request, limits)) : noScheduleHandlers()),
  });
}

/** Payload paths as they are, for a typed edge whose field names were not given. */
const AS_IS: FieldNames = { toEdge: (path) => path };

/** What is wrong with an ExecuteRequest before its payload is even looked at: lengths and size. */
function envelopeViolations(request: Pick<ExecuteRequest, "commandType" | "aggregateId" | "payload">, limits: Pick<RequestLimits, "maxPayloadDepth" | "maxPayloadFields">): Violation[] {
  const violations: Violation[] = [];
  if (request.commandType.length > MAX_COMMAND_TYPE_LENGTH) {
    violations.push({ field: "command_type", description: `command_type is longer than ${MAX_COMMAND_TYPE_LENGTH} characters` });
  }
  if (request.aggregateId.length > MAX_ID_LENGTH) {
    violations.push({ field: "aggregate_id", description: `aggregate_id is longer than ${MAX_ID_LENGTH} characters` });
  }
  const tooBig = request.payload ? payloadTooBig(request.payload, limits) : undefined;
  if (tooBig) violations.push({ field: "payload", description: tooBig });
  return violations;
}
