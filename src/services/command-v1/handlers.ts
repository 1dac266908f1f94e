import type { JsonObject } from "@bufbuild/protobuf";
import { z } from "zod";
import type { AnyCommand } from "../../kernel/command.js";
import { CommandService } from "../../gen/switchyard/command/v1/command_pb.js";
import { edgeService } from "../../edge/edge-service.js";
import { payloadFieldNames } from "../../edge/field-names.js";
import { runCommand, type Executor } from "../../edge/run-command.js";

/** Envelope fields of ExecuteRequest, as the pipeline names them and as the proto does. */
const executeFields = payloadFieldNames("payload", {
  type: "command_type",
  requestId: "request_id",
  correlationId: "correlation_id",
  expectedRevision: "expected_revision",
});

/**
 * switchyard.command.v1.CommandService: any registered command by type (the generic
 * edge), and a description of every command for humans and client generators.
 * `edgeRoutes` maps RPC paths of the typed edges to the command type each one runs.
 */
export function commandServiceV1(app: Executor & { registry: ReadonlyMap<string, AnyCommand> }, edgeRoutes: Readonly<Record<string, string>>) {
  const executePath = `/${CommandService.typeName}/${CommandService.method.execute.name}`;
  const descriptions = [...app.registry.values()].map((command) => ({
    commandType: command.type,
    aggregate: command.aggregate.name,
    payloadSchema: z.toJSONSchema(command.payload, { io: "input", unrepresentable: "any" }) as JsonObject,
    streamExpectation: command.stream,
    rejectionCodes: [...command.rejections],
    edgeMethods: [...Object.entries(edgeRoutes).filter(([, type]) => type === command.type).map(([path]) => path), executePath],
    requiredScopes: [...command.policy.scopes, ...(command.policy.rules ?? []).map((r) => r.scope)],
  }));

  return edgeService(CommandService, {
    execute: (request, call) =>
      runCommand(
        app,
        {
          ok: true,
          type: request.commandType,
          aggregateId: request.aggregateId,
          payload: request.payload ?? {},
          requestId: request.requestId,
          expectedRevision: request.expectedRevision,
        },
        executeFields,
        call,
      ),
    describeCommands: async () => ({ commands: descriptions }),
  });
}
