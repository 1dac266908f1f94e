import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { QueryService } from "../../gen/switchyard/query/v1/query_pb.js";
import { badRequest, edgeError } from "../../edge/command-error.js";
import { edgeService } from "../../edge/edge-service.js";
import { requireScope } from "../../edge/query-access.js";
import { orderByOf, pageSizeOf, readOptionsOf } from "../../edge/query-call.js";
import { queryError, STRUCT_FILTER_FIELDS } from "../../edge/query-error.js";
import type { ReadModels, StoredDocument } from "../../read/read-models.js";
import { filterOf } from "./filter.js";

/** What the query service reads and who may read it. */
export interface QueryServiceOptions {
  readonly read: ReadModels;
  /** The scopes any one of which allows reading every read model of the caller's tenant. */
  readonly readScopes: readonly string[];
}

/** Longest collection name or document id a request may carry; longer ones name nothing. */
const MAX_NAME = 256;

/**
 * switchyard.query.v1.QueryService: every registered read model, browsable with `buf curl`.
 * Reads see the caller's tenant only; a domain API may offer narrower reads (a guest's own
 * bookings), this one needs a read scope for everything.
 */
export function queryServiceV1({ read, readScopes }: QueryServiceOptions) {
  return edgeService(QueryService, {
    async listCollections(_request, call) {
      requireScope(call.identity, ...readScopes);
      const collections = [...read.collections()].sort(([a], [b]) => a.localeCompare(b));
      return { collections: collections.map(([name, fields]) => ({ name, fields: { ...fields } })) };
    },
    async fetch(request, call) {
      requireScope(call.identity, ...readScopes);
      checkName("collection", request.collection);
      checkName("id", request.id);
      const document = await read.fetch(request.collection, request.id, readOptionsOf(call, request.minPosition)).catch((error: unknown) => {
        throw queryError(error, STRUCT_FILTER_FIELDS, request.minPosition);
      });
      if (!document) {
        throw edgeError(Code.NotFound, "DOCUMENT_NOT_FOUND", `collection "${request.collection}" has no document "${request.id}"`, {
          collection: request.collection,
          id: request.id,
        });
      }
      return { document: documentToProto(document) };
    },
    async find(request, call) {
      requireScope(call.identity, ...readScopes);
      checkName("collection", request.collection);
      const filter = filterOf(request.filter);
      const options = {
        ...readOptionsOf(call, request.minPosition),
        orderBy: orderByOf(request.orderBy, (name) => name),
        pageSize: pageSizeOf(request.pageSize),
        pageToken: request.pageToken || undefined,
      };
      const page = await read.find(request.collection, filter, options).catch((error: unknown) => {
        throw queryError(error, STRUCT_FILTER_FIELDS, request.minPosition);
      });
      return { documents: page.documents.map(documentToProto), nextPageToken: page.nextPageToken };
    },
  });
}

/** A collection name or id must be given and short. */
function checkName(field: string, value: string): void {
  if (!value || value.length > MAX_NAME) throw badRequest([{ field, description: `must be 1 to ${MAX_NAME} characters` }]);
}

/** A stored document on the wire: its JSON as a Struct. */
function documentToProto(document: StoredDocument) {
  return { id: document.id, data: document.data as JsonObject, version: BigInt(document.version) };
}
