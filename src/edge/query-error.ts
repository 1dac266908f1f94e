import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { QueryError } from "../read/read-models.js";
import { ERROR_DOMAIN } from "./command-error.js";

/**
 * Where a refused query's fault lies, in the edge's own field names: a read model field a
 * filter named becomes the request field that carried it (`check_in_from`, `filter.checkIn`).
 */
export interface QueryFieldNames {
  /** The request field of a filter on the read model's `field`. */
  filter(field: string | undefined): string;
  /** The request field holding the order (AIP-132 `order_by`). */
  readonly orderBy: string;
  /** The request field holding the page token (AIP-158 `page_token`). */
  readonly pageToken: string;
}

/** The generic query service's names: the filter is a Struct keyed by the read model's own field names. */
export const STRUCT_FILTER_FIELDS: QueryFieldNames = {
  filter: (field) => (field ? `filter.${field}` : "filter"),
  orderBy: "order_by",
  pageToken: "page_token",
};

/** INVALID_ARGUMENT with ErrorInfo (the query's reason, the field) and a BadRequest naming the field. */
export function invalidQueryField(error: QueryError, field: string): ConnectError {
  return new ConnectError(`${field}: ${error.message}`, Code.InvalidArgument, undefined, [
    { desc: ErrorInfoSchema, value: { reason: error.reason, domain: ERROR_DOMAIN, metadata: { field } } },
    { desc: BadRequestSchema, value: { fieldViolations: [{ field, description: error.message }] } },
  ]);
}

/** The same kind of error for anything but a field: ErrorInfo only. */
function status(code: Code, error: QueryError, metadata: Record<string, string>): ConnectError {
  return new ConnectError(error.message, code, undefined, [{ desc: ErrorInfoSchema, value: { reason: error.reason, domain: ERROR_DOMAIN, metadata } }]);
}

/**
 * The gRPC error for a refused or unanswered query (AIP-193): a bad filter, order or page token
 * is INVALID_ARGUMENT naming the request field; an unknown collection NOT_FOUND; read models
 * still behind `min_position` when the call's time ran out UNAVAILABLE, with ErrorInfo
 * metadata `position` (how far they got) and `minPosition`, so a client knows to retry.
 * Anything that is not a QueryError is returned as it is (a bug or a store failure, which the
 * call lifecycle maps).
 */
export function queryError(error: unknown, fields: QueryFieldNames, minPosition?: bigint): unknown {
  if (!(error instanceof QueryError)) return error;
  switch (error.reason) {
    case "INVALID_FILTER":
      return invalidQueryField(error, fields.filter(error.details.field));
    case "INVALID_ORDER":
      return invalidQueryField(error, fields.orderBy);
    case "INVALID_PAGE_TOKEN":
      return invalidQueryField(error, fields.pageToken);
    case "UNKNOWN_COLLECTION":
      return status(Code.NotFound, error, error.details.field ? { collection: error.details.field } : {});
    case "RESULT_TOO_LARGE":
      return status(Code.ResourceExhausted, error, {});
    case "NOT_CAUGHT_UP":
      return status(Code.Unavailable, error, {
        position: String(error.details.position ?? 0),
        ...(minPosition !== undefined ? { minPosition: String(minPosition) } : {}),
      });
    default:
      return error;
  }
}
