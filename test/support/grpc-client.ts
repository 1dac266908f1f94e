import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import { HealthCheckRequestSchema, HealthCheckResponseSchema, type HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { CommandResultSchema } from "../../src/gen/switchyard/command/v1/command_pb.js";

/** A gRPC error as a test inspects it, with the rich details decoded. */
export interface GrpcFailure {
  readonly code: grpc.status;
  readonly message: string;
  readonly errorInfo?: MessageShape<typeof ErrorInfoSchema>;
  readonly badRequest?: MessageShape<typeof BadRequestSchema>;
  readonly preconditionFailure?: MessageShape<typeof PreconditionFailureSchema>;
  readonly commandResult?: MessageShape<typeof CommandResultSchema>;
}

type Unary<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends { input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? (request: MessageInitShape<I>, metadata?: Record<string, string>) => Promise<MessageShape<O>>
    : never;
};

/** What grpcJsClient returns for service S. */
export type GrpcJsClient<S extends DescService> = Unary<S> & { close(): void };

/**
 * A plain @grpc/grpc-js client for a protobuf-es service (no generated grpc-js stubs
 * needed): each unary method returns a promise, and a failure rejects with a GrpcFailure.
 */
export function grpcJsClient<S extends DescService>(
  service: S,
  address: string,
  connection: { credentials?: grpc.ChannelCredentials; channelOptions?: grpc.ChannelOptions; deadlineMs?: number } = {},
): GrpcJsClient<S> {
  const definition: grpc.ServiceDefinition = {};
  for (const method of service.methods) {
    (definition as Record<string, grpc.MethodDefinition<unknown, unknown>>)[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: unknown) => Buffer.from(toBinary(method.input, create(method.input, m as never))),
      requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
      responseSerialize: (m: unknown) => Buffer.from(toBinary(method.output, m as never)),
      responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
    };
  }
  const Client = grpc.makeGenericClientConstructor(definition, service.typeName);
  const client = new Client(address, connection.credentials ?? grpc.credentials.createInsecure(), connection.channelOptions) as unknown as Record<
    string,
    Function
  > &
    grpc.Client;
  const stub: Record<string, unknown> = { close: () => client.close() };
  for (const method of service.methods) {
    stub[method.localName] = (request: unknown, headers: Record<string, string> = {}) =>
      new Promise((resolve, reject) => {
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
        const callOptions = connection.deadlineMs ? { deadline: Date.now() + connection.deadlineMs } : {};
        client[method.localName](request, metadata, callOptions, (error: grpc.ServiceError | null, response: unknown) =>
          error ? reject(failureOf(error)) : resolve(response),
        );
      });
  }
  return stub as Unary<S> & { close(): void };
}

/** Decodes `grpc-status-details-bin` into the details Switchyard sends. */
export function failureOf(error: grpc.ServiceError): GrpcFailure {
  const bin = error.metadata?.get("grpc-status-details-bin")[0];
  const details: Any[] = bin instanceof Buffer ? fromBinary(StatusSchema, bin).details : [];
  const find = <D extends DescMessage>(schema: D) => details.map((d) => anyUnpack(d, schema)).find((m) => m !== undefined);
  return {
    code: error.code,
    message: error.details,
    errorInfo: find(ErrorInfoSchema),
    badRequest: find(BadRequestSchema),
    preconditionFailure: find(PreconditionFailureSchema),
    commandResult: find(CommandResultSchema),
  };
}

/** Awaits a call that must fail, and returns its decoded failure. */
export async function failing(call: Promise<unknown>): Promise<GrpcFailure> {
  try {
    await call;
  } catch (error) {
    return error as GrpcFailure;
  }
  throw new Error("expected the call to fail, it succeeded");
}

/** A running grpc.health.v1.Health/Watch on the whole server (""). */
export interface HealthWatch {
  /** Every status the server sent, in order. */
  readonly statuses: HealthCheckResponse_ServingStatus[];
  stop(): void;
}

/** Watches a server's overall health, collecting each status it sends. */
export function watchHealth(address: string): HealthWatch {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const statuses: HealthCheckResponse_ServingStatus[] = [];
  const call = client.makeServerStreamRequest(
    "/grpc.health.v1.Health/Watch",
    (m: unknown) => Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, m as never))),
    (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
    { service: "" },
  );
  call.on("data", (m: { status: HealthCheckResponse_ServingStatus }) => statuses.push(m.status));
  // The watch ends with an error when the server goes away or it is stopped; that is expected.
  call.on("error", () => undefined);
  return {
    statuses,
    stop: () => {
      call.cancel();
      client.close();
    },
  };
}
