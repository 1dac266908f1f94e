import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CommandResult } from "../kernel/result.js";
import { BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema } from "../gen/google/rpc/error_details_pb.js";
import { CommandResultSchema } from "../gen/switchyard/command/v1/command_pb.js";
import { toProtoResult } from "./command-result.js";
import type { FieldNames } from "./field-names.js";

/**
 * Every message type an error of this edge carries in its status details, for server
 * reflection: a client such as `buf curl` resolves a detail's type by name to decode it.
 * Their files hold the other google.rpc details too (RetryInfo, QuotaFailure, …).
 */
export const ERROR_DETAIL_TYPES: readonly DescMessage[] = [ErrorInfoSchema, BadRequestSchema, PreconditionFailureSchema, CommandResultSchema];

/** ErrorInfo.domain of every error Switchyard raises. */
export const ERROR_DOMAIN = "switchyard.dev";

type Failure = Exclude<CommandResult, { status: "accepted" }>;
/** A detail to attach to a ConnectError (connect-es does not export the type by name). */
type OutgoingDetail = Extract<ConnectError["details"][number], { desc: unknown }>;

/** A status code and stable reason for every non-accepted result (the README's "Errors" table). */
function statusOf(result: Failure): { code: Code; reason: string; metadata: Record<string, string> } {
  const aggregate = { commandType: result.commandType, aggregateId: result.aggregateId };
  switch (result.status) {
    case "invalid":
      return { code: Code.InvalidArgument, reason: result.reason, metadata: {} };
    case "rejected":
      return { code: Code.FailedPrecondition, reason: result.code, metadata: aggregate };
    case "not_found":
      return { code: Code.NotFound, reason: "AGGREGATE_NOT_FOUND", metadata: aggregate };
    case "already_exists":
      return { code: Code.AlreadyExists, reason: "AGGREGATE_ALREADY_EXISTS", metadata: aggregate };
    case "conflict":
      return {
        code: Code.Aborted,
        reason: "REVISION_CONFLICT",
        metadata: { ...aggregate, expectedRevision: String(result.expectedRevision), actualRevision: String(result.actualRevision) },
      };
    case "unauthorized":
      return { code: result.reason === "UNAUTHENTICATED" ? Code.Unauthenticated : Code.PermissionDenied, reason: result.reason, metadata: {} };
    case "unavailable":
      return { code: Code.Unavailable, reason: "STORE_UNAVAILABLE", metadata: {} };
    case "failed":
      return { code: Code.Internal, reason: "INTERNAL", metadata: { errorId: result.errorId } };
  }
}

/**
 * The gRPC error for a command that was not accepted: status code, ErrorInfo, BadRequest
 * or PreconditionFailure where they apply, and the CommandResult itself, so a client in
 * any language reads one shape for every outcome.
 */
export function commandError(result: Failure, fields: FieldNames): ConnectError {
  const { code, reason, metadata } = statusOf(result);
  const proto = toProtoResult(result, fields);
  const details: OutgoingDetail[] = [{ desc: ErrorInfoSchema, value: { reason, domain: ERROR_DOMAIN, metadata } }];
  if (result.status === "invalid" && result.violations.length > 0) {
    details.push({ desc: BadRequestSchema, value: { fieldViolations: proto.validationErrors.map(({ field, description }) => ({ field, description })) } });
  }
  if (result.status === "rejected") {
    details.push({
      desc: PreconditionFailureSchema,
      value: { violations: [{ type: result.code, subject: `${result.commandType}/${result.aggregateId}`, description: result.message }] },
    });
  }
  details.push({ desc: CommandResultSchema, value: proto });
  return new ConnectError(proto.message || reason, code, undefined, details);
}

/** An error with only ErrorInfo, for failures outside a command (bad query, draining, auth). */
export function edgeError(code: Code, reason: string, message: string, metadata: Record<string, string> = {}): ConnectError {
  return new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: { reason, domain: ERROR_DOMAIN, metadata } }]);
}

/** The INVALID_ARGUMENT (MALFORMED_REQUEST) for a request whose bytes are not a valid `typeName`, on every port. */
export function malformedRequest(typeName: string, reason: string): ConnectError {
  return edgeError(Code.InvalidArgument, "MALFORMED_REQUEST", `request is not a valid ${typeName}: ${reason}`);
}

/** INVALID_ARGUMENT naming fields, for request checks done at the edge itself (queries); `reason` goes in the ErrorInfo. */
export function badRequest(violations: ReadonlyArray<{ field: string; description: string }>, reason = "VALIDATION_FAILED"): ConnectError {
  return new ConnectError(violations.map((v) => `${v.field}: ${v.description}`).join("; "), Code.InvalidArgument, undefined, [
    { desc: ErrorInfoSchema, value: { reason, domain: ERROR_DOMAIN, metadata: {} } },
    { desc: BadRequestSchema, value: { fieldViolations: violations.map(({ field, description }) => ({ field, description })) } },
  ]);
}
