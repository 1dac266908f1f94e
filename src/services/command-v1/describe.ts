import type { JsonObject } from "@bufbuild/protobuf";
import { z } from "zod";
import type { FieldNames } from "../../edge/field-names.js";
import type { AnyCommand } from "../../kernel/command.js";
import { describePolicy } from "../../kernel/policy.js";

/** How an edge reaches commands: each RPC path with the command type it runs and how it names the payload's fields. */
export interface EdgeRoute {
  readonly commandType: string;
  readonly fields: FieldNames;
}

/**
 * What DescribeCommands says of one command: its payload as JSON Schema (the input side:
 * what a caller sends, before the schema's transforms), rejection codes, policy, and every
 * edge RPC that reaches it with its field mapping.
 */
export function describeCommand(command: AnyCommand, routes: Readonly<Record<string, EdgeRoute>>) {
  const payloadSchema = z.toJSONSchema(command.payload, { io: "input", unrepresentable: "any" }) as JsonObject;
  const paths = fieldPaths(payloadSchema);
  const edgeRpcs = Object.entries(routes)
    .filter(([, route]) => route.commandType === command.type)
    .map(([method, route]) => ({ method, fieldMapping: Object.fromEntries(paths.map((path) => [path, route.fields.toEdge(path)])) }));
  const policy = command.policy;
  return {
    commandType: command.type,
    aggregate: command.aggregate.name,
    payloadSchema,
    streamExpectation: command.stream,
    rejectionCodes: [...command.rejections],
    edgeMethods: edgeRpcs.map((rpc) => rpc.method),
    requiredScopes: [...policy.scopes, ...(policy.rules ?? []).map((r) => r.scope)],
    policy: {
      scopes: [...policy.scopes],
      rules: (policy.rules ?? []).map((r) => ({ scope: r.scope, description: r.description })),
      description: describePolicy(policy) || "open to any caller",
    },
    edgeRpcs,
  };
}

/** Every field path of a JSON Schema object, nested objects' fields as "stay.checkIn". */
function fieldPaths(schema: JsonObject, prefix = ""): string[] {
  const properties = schema.properties;
  if (typeof properties !== "object" || properties === null || Array.isArray(properties)) return [];
  return Object.entries(properties).flatMap(([name, property]) => {
    const path = prefix + name;
    const nested = typeof property === "object" && property !== null && !Array.isArray(property) ? fieldPaths(property, `${path}.`) : [];
    return [path, ...nested];
  });
}
