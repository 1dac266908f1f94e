import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import type { DescFile, DescMessage, DescMethod, DescService, Message } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { ERROR_DETAIL_TYPES, malformedRequest } from "./command-error.js";
import { decode, statusOf, UndecodableRequest } from "./grpc-server.js";
import { protobufCodec } from "./protobuf-codec.js";

type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** A reply body, version-neutral: assignable to the v1 and the v1alpha response oneof. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * Registers gRPC server reflection (grpc.reflection.v1 and v1alpha ServerReflection) on `server`,
 * describing `services` plus the reflection services themselves, and the files of `types`:
 * messages the services send that no service's file imports, such as the error details in
 * grpc-status-details-bin (by default every type ERROR_DETAIL_TYPES names).
 *
 * Built from protobuf-es descriptors rather than @grpc/reflection, which cannot describe services
 * whose files import other packages' types. Descriptor bytes and the symbol index are computed here,
 * once; requests only look them up. Call before `server.bindAsync`.
 */
export function addReflection(server: grpc.Server, services: DescService[], types: readonly DescMessage[] = ERROR_DETAIL_TYPES): void {
  const answer = createAnswerer([...services, v1.ServerReflection, v1alpha.ServerReflection], types);
  for (const service of [v1.ServerReflection, v1alpha.ServerReflection]) {
    const { name, input, output }: DescMethod = service.methods[0];
    const definition: grpc.ServiceDefinition<grpc.UntypedServiceImplementation> = {
      [name]: {
        path: `/${service.typeName}/${name}`,
        requestStream: true,
        responseStream: true,
        ...protobufCodec(input, output),
        requestDeserialize: (bytes: Buffer) => decode(input, bytes),
      },
    };
    server.addService(definition, {
      [name]: (call: grpc.ServerDuplexStream<ReflectionRequest | UndecodableRequest, Message>) => {
        call.on("data", (req: ReflectionRequest | UndecodableRequest) => {
          if (req instanceof UndecodableRequest) call.emit("error", statusOf(malformedRequest(input.typeName, req.reason)));
          else call.write(create(output, { validHost: req.host, originalRequest: req, messageResponse: answer(req) }));
        });
        call.on("end", () => call.end());
      },
    });
  }
}

/**
 * The same reflection services on a Connect router, for the HTTP port: `buf curl --protocol
 * connect` (or grpcweb) finds services there with reflection alone. Bidirectional streams
 * need HTTP/2, so the client must speak it (`--http2-prior-knowledge` on cleartext).
 */
export function reflectionRoutes(services: DescService[], types: readonly DescMessage[] = ERROR_DETAIL_TYPES): (router: ConnectRouter) => void {
  const answer = createAnswerer([...services, v1.ServerReflection, v1alpha.ServerReflection], types);
  return (router) => {
    for (const service of [v1.ServerReflection, v1alpha.ServerReflection]) {
      const { localName, output } = service.methods[0];
      router.service(service, {
        [localName]: async function* (requests: AsyncIterable<ReflectionRequest>) {
          for await (const req of requests) yield create(output, { validHost: req.host, originalRequest: req, messageResponse: answer(req) });
        },
      } as never);
    }
  };
}

/** Precomputes the symbol and file indexes and returns the per-request lookup. */
function createAnswerer(services: DescService[], types: readonly DescMessage[]): (req: ReflectionRequest) => Answer {
  const fileClosure = new Map<string, Uint8Array[]>(); // file name -> its bytes, then its transitive deps'
  const symbolFile = new Map<string, string>(); // full symbol name -> defining file name
  const messageNames = new Set<string>();

  const bytesOf = new Map<DescFile, Uint8Array>();
  const closureOf = (file: DescFile, seen = new Set<DescFile>()): DescFile[] => {
    if (seen.has(file)) return [];
    seen.add(file);
    return [file, ...file.dependencies.flatMap((dep) => closureOf(dep, seen))];
  };
  for (const file of new Set([...services, ...types].flatMap((s) => closureOf(s.file)))) {
    bytesOf.set(file, toBinary(FileDescriptorProtoSchema, file.proto));
  }
  for (const [file] of bytesOf) {
    const name = file.proto.name;
    fileClosure.set(name, closureOf(file).map((f) => bytesOf.get(f)!));
    for (const type of nestedTypes(file)) {
      symbolFile.set(type.typeName, name);
      if (type.kind === "message") {
        messageNames.add(type.typeName);
        for (const member of [...type.fields, ...type.oneofs]) symbolFile.set(`${type.typeName}.${member.name}`, name);
      }
      if (type.kind === "service") for (const m of type.methods) symbolFile.set(`${type.typeName}.${m.name}`, name);
      if (type.kind === "enum") {
        const scope = type.typeName.slice(0, type.typeName.lastIndexOf(".") + 1); // enum values are siblings of the enum
        for (const v of type.values) symbolFile.set(scope + v.name, name);
      }
    }
  }

  const listed = { service: services.map((s) => ({ name: s.typeName })) };
  const files = (name: string | undefined, what: string): Answer => {
    const closure = name === undefined ? undefined : fileClosure.get(name);
    return closure
      ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: closure } }
      : notFound(what);
  };

  return ({ messageRequest: r }) => {
    switch (r.case) {
      case "listServices":
        return { case: "listServicesResponse", value: listed };
      case "fileByFilename":
        return files(r.value, `file ${r.value}`);
      case "fileContainingSymbol":
        return files(symbolFile.get(r.value), `symbol ${r.value}`);
      case "fileContainingExtension":
        return notFound(`extension ${r.value.containingType}#${r.value.extensionNumber}`);
      case "allExtensionNumbersOfType":
        return messageNames.has(r.value)
          ? { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: [] } }
          : notFound(`type ${r.value}`);
      default:
        return { case: "errorResponse", value: { errorCode: grpc.status.INVALID_ARGUMENT, errorMessage: "empty request" } };
    }
  };
}

function notFound(what: string): Answer {
  return { case: "errorResponse", value: { errorCode: grpc.status.NOT_FOUND, errorMessage: `${what} not found` } };
}
