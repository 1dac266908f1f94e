import { create, fromBinary, isMessage, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Identity } from "../kernel/identity.js";
import { edgeError } from "./command-error.js";
import type { Drain } from "./drain.js";
import { handlerOf, type EdgeCall, type EdgeService } from "./edge-service.js";
import { formatSubject } from "./http-server.js";
import { DEFAULT_LIMITS, effectiveDeadline, wellFormed, withinDeadline, withWellFormedMessage } from "./limits.js";
import { answerMalformedRequestsAsInvalidArgument } from "./grpc-js-statuses.js";
import { encoderOf, protobufCodec } from "./protobuf-codec.js";
import { codeName, statusDetailsBin, toConnectError } from "./rpc-outcome.js";

/** Who is calling, from request headers and (with mTLS) the client certificate. */
export type Authenticate = (request: {
  header(name: string): string | undefined;
  peerCertificateSubject?: string;
}) => Promise<Identity>;

/** How the gRPC port is served. */
export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly services: readonly EdgeService[];
  readonly authenticate: Authenticate;
  readonly drain: Drain;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  /** Longest a call may run (MAX_DEADLINE_MS); a longer grpc-timeout, or none, is cut to this. */
  readonly maxDeadlineMs?: number;
  readonly credentials?: grpc.ServerCredentials;
  /** Registers services that bring their own grpc-js handlers (health, reflection). */
  readonly extra?: (server: grpc.Server) => void;
}

/** A started gRPC server. */
export interface GrpcServer {
  readonly server: grpc.Server;
  readonly port: number;
  /** Stops accepting connections and waits for calls to finish, then forces what is left. */
  close(graceMs: number): Promise<void>;
}

/** A request that failed to decode; the handler answers it with INVALID_ARGUMENT. */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/**
 * Serves edge services on @grpc/grpc-js with protobuf-es codecs (measured far faster than
 * connect-node's gRPC path). Every unary call is authenticated, admitted unless draining,
 * run, mapped to a status with rich details, and logged in one line.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  answerMalformedRequestsAsInvalidArgument();
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    interceptors: [unaryFramingIsInvalidArgument],
  });
  for (const edge of options.services) server.addService(definitionOf(edge), implementationOf(edge, options));
  options.extra?.(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, options.credentials ?? grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    server,
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/**
 * grpc-js answers a unary call whose body holds no complete request message (an empty or
 * truncated frame) or a second one with UNIMPLEMENTED "Received no request message …"; that is
 * the caller's malformed request, so it becomes INVALID_ARGUMENT like any undecodable one.
 */
const unaryFramingIsInvalidArgument: grpc.ServerInterceptor = (_method, call) =>
  new grpc.ServerInterceptingCall(call, {
    sendStatus(status, next) {
      if (status.code === grpc.status.UNIMPLEMENTED && /^Received (no|a second) request message/.test(status.details ?? "")) {
        const detail = status.details!.startsWith("Received no") ? "no complete request message" : "more than one request message";
        const error = edgeError(Code.InvalidArgument, "MALFORMED_REQUEST", `a unary call carries exactly one request message; this one had ${detail}`);
        const metadata = new grpc.Metadata();
        metadata.set("grpc-status-details-bin", statusDetailsBin(error));
        next({ code: grpc.status.INVALID_ARGUMENT, details: error.rawMessage, metadata });
        return;
      }
      next(status);
    },
  });

function definitionOf(edge: EdgeService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of edge.service.methods) {
    definition[method.localName] = {
      path: `/${edge.service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      ...protobufCodec(method.input, method.output),
      requestDeserialize: (bytes: Buffer) => decode(method.input, bytes),
    };
  }
  return definition as grpc.ServiceDefinition;
}

/** Decodes without throwing: grpc-js would answer a throwing deserializer with INTERNAL. */
function decode(schema: DescMessage, bytes: Buffer): unknown {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    return new UndecodableRequest(error instanceof Error ? error.message : String(error));
  }
}

function implementationOf(edge: EdgeService, options: GrpcServerOptions): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of edge.service.methods) {
    const path = `/${edge.service.typeName}/${method.name}`;
    const handler = handlerOf(edge, method.localName);
    const encode = encoderOf(method.output);
    implementation[method.localName] = (async (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const clientDeadline = call.getDeadline();
      const deadline = effectiveDeadline(Number(clientDeadline) - Date.now(), options.maxDeadlineMs ?? DEFAULT_LIMITS.maxDeadlineMs);
      const log: Record<string, unknown> = {};
      const leave = options.drain.draining ? undefined : options.drain.enter();
      let code = 0;
      try {
        if (!leave) throw edgeError(Code.Unavailable, "DRAINING", "the server is shutting down; retry on another instance");
        const request = call.request;
        if (request instanceof UndecodableRequest) {
          throw edgeError(Code.InvalidArgument, "MALFORMED_REQUEST", `request is not a valid ${method.input.typeName}: ${request.reason}`);
        }
        const header = (name: string) => {
          const value = call.metadata.get(name)[0];
          return typeof value === "string" ? value : undefined;
        };
        const response = await withinDeadline(deadline, async () => {
          // Counted until the work itself ends, even when the deadline answered first: shutdown waits for it.
          const workDone = options.drain.enter();
          try {
            const identity = await options.authenticate({ header, peerCertificateSubject: peerSubject(call) });
            const edgeCall: EdgeCall = { method: path, identity, header, log };
            return await handler(request as never, edgeCall);
          } finally {
            workDone();
          }
        });
        // Encoded here rather than by grpc-js, so a response over the limit is answered and
        // logged as what it is instead of grpc-js's own status behind a logged OK.
        const bytes = encode(isMessage(response) ? response : create(method.output, response));
        if (bytes.length > options.maxMessageBytes) {
          throw edgeError(Code.ResourceExhausted, "RESPONSE_TOO_LARGE", `the response is ${bytes.length} bytes, over MAX_MESSAGE_BYTES (${options.maxMessageBytes})`);
        }
        callback(null, bytes);
      } catch (thrown) {
        const error = withWellFormedMessage(toConnectError(thrown, options.logger, path));
        code = error.code;
        const metadata = new grpc.Metadata();
        metadata.set("grpc-status-details-bin", boundedDetails(error));
        callback({ code: error.code as number as grpc.status, details: clip(error.rawMessage, MAX_STATUS_MESSAGE), metadata });
      } finally {
        leave?.();
        options.logger.info(
          { rpc: "grpc", method: path, code: codeName(code), durationMs: Number(process.hrtime.bigint() - started) / 1e6, ...log },
          "rpc",
        );
      }
    }) as grpc.handleUnaryCall<unknown, unknown>;
  }
  return implementation;
}

/** Longest grpc-message sent; status trailers past the peer's header-list limit stall the call. */
const MAX_STATUS_MESSAGE = 1024;
/** Largest grpc-status-details-bin sent whole; larger details are cut to the ErrorInfo. */
const MAX_DETAILS_BYTES = 8192;

function clip(text: string, max: number): string {
  return wellFormed(text.length > max ? `${text.slice(0, max)}...` : text);
}

/**
 * The status details, or only the ErrorInfo (always first) when they are too large for a
 * trailer: an oversized trailer never reaches the client and the call hangs until its deadline.
 */
function boundedDetails(error: ConnectError): Buffer {
  const whole = statusDetailsBin(error);
  if (whole.length <= MAX_DETAILS_BYTES) return whole;
  return statusDetailsBin(new ConnectError(clip(error.rawMessage, MAX_STATUS_MESSAGE), error.code, undefined, error.details.filter((d) => "desc" in d).slice(0, 1) as Extract<ConnectError["details"][number], { desc: unknown }>[]));
}

/** Subject of the client certificate on an mTLS connection, if any. */
function peerSubject(call: grpc.ServerUnaryCall<unknown, unknown>): string | undefined {
  const certificate = (call as { getAuthContext?: () => { sslPeerCertificate?: { subject?: Record<string, string> } } })
    .getAuthContext?.()?.sslPeerCertificate;
  const subject = certificate?.subject;
  return subject ? formatSubject(subject) : undefined;
}
