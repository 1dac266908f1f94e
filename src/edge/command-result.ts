import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import type { CommandResult } from "../kernel/result.js";
import {
  CommandResultSchema,
  CommandStatus,
  type CommandResult as CommandResultMessage,
} from "../gen/switchyard/command/v1/command_pb.js";
import type { FieldNames } from "./field-names.js";

/** Proto status of each domain status. */
const STATUS: Record<CommandResult["status"], CommandStatus> = {
  accepted: CommandStatus.ACCEPTED,
  invalid: CommandStatus.INVALID,
  rejected: CommandStatus.REJECTED,
  not_found: CommandStatus.NOT_FOUND,
  already_exists: CommandStatus.ALREADY_EXISTS,
  conflict: CommandStatus.CONFLICT,
  unauthorized: CommandStatus.UNAUTHORIZED,
  unavailable: CommandStatus.FAILED,
  failed: CommandStatus.FAILED,
};

/**
 * The wire form of a result. Field paths in validation errors are translated to the
 * calling edge's spelling; a response value that is not a JSON object is wrapped as
 * `{value: …}` because Struct holds objects only.
 */
export function toProtoResult(result: CommandResult, fields: FieldNames): CommandResultMessage {
  const message = create(CommandResultSchema, {
    commandId: result.commandId,
    commandType: result.commandType,
    aggregateId: result.aggregateId,
    status: STATUS[result.status],
    correlationId: result.correlationId,
    replayed: result.replayed,
  });
  switch (result.status) {
    case "accepted":
      message.revision = BigInt(result.revision);
      message.globalPosition = BigInt(result.position);
      message.events = result.events.map((e) => ({
        $typeName: "switchyard.command.v1.WrittenEvent",
        id: e.id,
        type: e.type,
        revision: BigInt(e.revision),
        globalPosition: BigInt(e.position),
        streamId: e.streamId ?? "",
      }));
      if (result.response !== undefined) message.response = asStruct(result.response);
      break;
    case "invalid":
      message.code = result.reason;
      message.validationErrors = result.violations.map((v) => ({
        $typeName: "switchyard.command.v1.ValidationError",
        field: fields.toEdge(v.field),
        description: v.description,
      }));
      // Bad fields are named in the edge's spelling in the message too.
      message.message =
        result.reason === "VALIDATION_FAILED" ? message.validationErrors.map((v) => `${v.field}: ${v.description}`).join("; ") : result.message;
      break;
    case "rejected":
      message.code = result.code;
      message.message = result.message;
      message.revision = BigInt(result.revision);
      break;
    case "already_exists":
      message.revision = BigInt(result.revision);
      message.message = result.message;
      break;
    case "conflict":
      message.revision = BigInt(result.actualRevision);
      message.expectedRevision = BigInt(result.expectedRevision);
      message.message = result.message;
      break;
    case "unauthorized":
      message.code = result.reason;
      message.message = result.message;
      break;
    case "not_found":
    case "unavailable":
      message.message = result.message;
      break;
    case "failed":
      message.errorId = result.errorId;
      message.message = `internal error ${result.errorId}`;
      break;
  }
  return message;
}

function asStruct(value: unknown): JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : { value: value as JsonValue };
}
