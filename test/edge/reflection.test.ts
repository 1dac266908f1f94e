import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescService, Message, MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { addReflection } from "../../src/edge/reflection.js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { PaymentNotificationService } from "../../src/gen/payments/v1/payments_pb.js";
import { CommandResultSchema, CommandService } from "../../src/gen/switchyard/command/v1/command_pb.js";
import {
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../../src/gen/grpc/reflection/v1/reflection_pb.js";

const run = promisify(execFile); // async: the server lives in this process, so a sync exec would deadlock
const codec = (schema: DescMessage) => ({
  serialize: (msg: Message) => Buffer.from(toBinary(schema, msg)),
  deserialize: (buf: Buffer) => fromBinary(schema, buf),
});

/** Test-only registration: every unary method answers a CommandResult typed `<package>.<Method>`. */
function addTrivialService(server: grpc.Server, service: DescService): void {
  const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const [req, res] = [codec(method.input), codec(method.output)];
    definition[method.name] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
    };
    const commandType = `${service.typeName.split(".")[0]}.${method.name}`;
    handlers[method.name] = (_call: unknown, callback: grpc.sendUnaryData<Message>) =>
      callback(null, method.output.typeName === CommandResultSchema.typeName
        ? create(CommandResultSchema, { commandType })
        : create(method.output));
  }
  server.addService(definition, handlers);
}

describe("gRPC server reflection", () => {
  const server = new grpc.Server();
  let base = "";
  let client: grpc.Client;

  const buf = async (...args: string[]) =>
    (await run("node_modules/.bin/buf", ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args])).stdout;

  /** One bidi stream, several requests: returns the replies in order. */
  const reflect = (requests: ServerReflectionRequest[]) =>
    new Promise<ServerReflectionResponse[]>((resolve, reject) => {
      const { serialize } = codec(ServerReflectionRequestSchema);
      const deserialize = (b: Buffer) => fromBinary(ServerReflectionResponseSchema, b);
      const path = `/${ServerReflection.typeName}/ServerReflectionInfo`;
      const call = client.makeBidiStreamRequest(path, serialize, deserialize);
      const replies: ServerReflectionResponse[] = [];
      call.on("data", (r: ServerReflectionResponse) => replies.push(r));
      call.on("error", reject);
      call.on("end", () => resolve(replies));
      for (const r of requests) call.write(r);
      call.end();
    });
  const request = (host: string, messageRequest: MessageInitShape<typeof ServerReflectionRequestSchema>["messageRequest"]) =>
    create(ServerReflectionRequestSchema, { host, messageRequest });
  const fileNames = (r: ServerReflectionResponse) => {
    assert.equal(r.messageResponse.case, "fileDescriptorResponse");
    return r.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
  };

  before(async () => {
    const services = [BookingService, PaymentNotificationService, CommandService];
    for (const s of services) addTrivialService(server, s);
    addReflection(server, services);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    base = `http://127.0.0.1:${port}`;
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client?.close(); // before the server: an http2 server close waits for open sessions
    server.forceShutdown();
  });

  const expectedServices = [
    "booking.v1.BookingService",
    "payments.v1.PaymentNotificationService",
    "switchyard.command.v1.CommandService",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ];

  it("lists the services over grpc-v1 reflection", async () => {
    const listed = (await buf("--list-services", base)).trim().split("\n").sort();
    assert.deepEqual(listed, [...expectedServices].sort());
  });

  it("lists the methods", async () => {
    const methods = (await buf("--list-methods", base)).trim().split("\n");
    assert.ok(methods.includes("booking.v1.BookingService/BookRoom"), methods.join("\n"));
    assert.ok(methods.includes("switchyard.command.v1.CommandService/Execute"), methods.join("\n"));
  });

  it("calls a method whose types come from other packages, schema from reflection only", async () => {
    const out = await buf("-d", '{"bookingId":"B1"}', `${base}/booking.v1.BookingService/BookRoom`);
    assert.equal(JSON.parse(out).commandType, "booking.BookRoom");
  });

  it("answers for every error detail type, by symbol and by file name, so clients can decode grpc-status-details-bin", async () => {
    const symbols = ["google.rpc.ErrorInfo", "google.rpc.BadRequest", "google.rpc.PreconditionFailure", "google.rpc.RetryInfo", "switchyard.command.v1.CommandResult"];
    const replies = await reflect([
      ...symbols.map((value) => request("", { case: "fileContainingSymbol", value })),
      request("", { case: "fileByFilename", value: "google/rpc/error_details.proto" }),
    ]);
    assert.deepEqual(replies.map((r) => fileNames(r)[0]), [
      ...Array(4).fill("google/rpc/error_details.proto"),
      "switchyard/command/v1/command.proto",
      "google/rpc/error_details.proto",
    ]);
  });

  it("lists the services over grpc-v1alpha reflection", async () => {
    const listed = (await buf("--reflect-protocol", "grpc-v1alpha", "--list-services", base)).trim().split("\n").sort();
    assert.deepEqual(listed, [...expectedServices].sort());
  });

  it("answers symbol, file and extension requests on one stream", async () => {
    const unknown = request("h0", { case: "fileContainingSymbol", value: "no.such.Symbol" });
    const replies = await reflect([
      unknown,
      request("h1", { case: "fileContainingSymbol", value: "booking.v1.BookingService.BookRoom" }),
      request("h2", { case: "fileContainingSymbol", value: "switchyard.command.v1.CommandStatus" }),
      request("h3", { case: "fileByFilename", value: "payments/v1/payments.proto" }),
      request("h4", { case: "allExtensionNumbersOfType", value: "booking.v1.BookRoomRequest" }),
      request("h5", { case: "fileContainingExtension", value: { containingType: "booking.v1.BookRoomRequest", extensionNumber: 100 } }),
    ]);
    assert.equal(replies.length, 6);
    assert.deepEqual(replies.map((r) => r.validHost), ["h0", "h1", "h2", "h3", "h4", "h5"]);

    const [miss, method, nested, byName, extNumbers, ext] = replies;
    assert.deepEqual(miss.originalRequest, unknown);
    assert.equal(miss.messageResponse.case, "errorResponse");
    assert.equal(miss.messageResponse.value.errorCode, grpc.status.NOT_FOUND);

    assert.deepEqual(fileNames(method).sort(), [
      "booking/v1/booking.proto",
      "google/protobuf/duration.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/timestamp.proto",
      "switchyard/command/v1/command.proto",
      "switchyard/command/v1/schedules.proto",
    ]);
    assert.deepEqual(fileNames(nested).sort(), [
      "google/protobuf/duration.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/timestamp.proto",
      "switchyard/command/v1/command.proto",
      "switchyard/command/v1/schedules.proto",
    ]);
    assert.equal(fileNames(byName)[0], "payments/v1/payments.proto");

    assert.equal(extNumbers.messageResponse.case, "allExtensionNumbersResponse");
    assert.deepEqual(extNumbers.messageResponse.value.extensionNumber, []);
    assert.equal(ext.messageResponse.case, "errorResponse");
    assert.equal(ext.messageResponse.value.errorCode, grpc.status.NOT_FOUND);
  });
});
