import { create, createFileRegistry, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers } from "@bufbuild/protobuf/wkt";
import type { EdgeService, UnaryHandler } from "../src/edge/edge-service.js";

/**
 * bench.v1.EchoService/Echo(StringValue) → StringValue, described at run time so the
 * benchmark's ceiling RPC needs no .proto in the product: the same grpc-js adapter, auth,
 * drain and log line as every real RPC, with no work in the handler.
 */
export const EchoService: DescService = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "bench/v1/echo.proto",
    package: "bench.v1",
    dependency: ["google/protobuf/wrappers.proto"],
    syntax: "proto3",
    service: [{ name: "EchoService", method: [{ name: "Echo", inputType: ".google.protobuf.StringValue", outputType: ".google.protobuf.StringValue" }] }],
  }),
  (name) => (name === "google/protobuf/wrappers.proto" ? file_google_protobuf_wrappers : undefined),
).getService("bench.v1.EchoService")!;

const echo: UnaryHandler<never, never> = async (request) => request;

/** The echo service with its one handler. */
export const echoService = { service: EchoService, impl: { echo } } as unknown as EdgeService;
