import { create, fromBinary, isMessage, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import type { CallLifecycle, IncomingCall } from "./call-lifecycle.js";
import { edgeError } from "./command-error.js";
import { handlerOf, streamHandlerOf, type EdgeService } from "./edge-service.js";
import { formatSubject } from "./http-server.js";
import { wellFormed } from "./limits.js";
import { answerMalformedRequestsAsInvalidArgument } from "./grpc-js-statuses.js";
import { encoderOf, protobufCodec } from "./protobuf-codec.js";
import { statusDetailsBin } from "./rpc-outcome.js";

/** How the gRPC port is served. */
export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly services: readonly EdgeService[];
  /** Authentication, drain, deadlines, errors and the log line, shared with the HTTP port. */
  readonly lifecycle: CallLifecycle;
  readonly maxMessageBytes: number;
  /** How often an idle connection is pinged, and how long a ping may go unanswered before the connection is closed. */
  readonly keepalive?: { readonly timeMs: number; readonly timeoutMs: number };
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
export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/**
 * Serves edge services on @grpc/grpc-js with protobuf-es codecs (measured far faster than
 * connect-node's gRPC path). Each call, unary or server-streaming, goes through the shared
 * call lifecycle (call-lifecycle.ts); this file only translates between it and grpc-js.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  answerMalformedRequestsAsInvalidArgument();
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    // Pings find dead clients of long-lived streams; clients may ping as often as the server does.
    "grpc.keepalive_time_ms": options.keepalive?.timeMs ?? 30_000,
    "grpc.keepalive_timeout_ms": options.keepalive?.timeoutMs ?? 10_000,
    "grpc.http2.min_ping_interval_without_data_ms": Math.min(options.keepalive?.timeMs ?? 30_000, 10_000),
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
      responseStream: method.methodKind === "server_streaming",
      ...protobufCodec(method.input, method.output),
      requestDeserialize: (bytes: Buffer) => decode(method.input, bytes),
    };
  }
  return definition as grpc.ServiceDefinition;
}

/** Decodes without throwing: grpc-js would answer a throwing deserializer with INTERNAL. */
export function decode(schema: DescMessage, bytes: Buffer): unknown {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    return new UndecodableRequest(error instanceof Error ? error.message : String(error));
  }
}

function implementationOf(edge: EdgeService, options: GrpcServerOptions): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of edge.service.methods) {
    const encode = encoderOf(method.output);
    /** The response's bytes; a response over the limit is answered and logged as what it is, not as grpc-js's own status behind a logged OK. */
    const bytesOf = (response: unknown): Uint8Array => {
      const bytes = encode(isMessage(response) ? response : create(method.output, response as never));
      if (bytes.length > options.maxMessageBytes) {
        throw edgeError(Code.ResourceExhausted, "RESPONSE_TOO_LARGE", `the response is ${bytes.length} bytes, over MAX_MESSAGE_BYTES (${options.maxMessageBytes})`);
      }
      return bytes;
    };
    if (method.methodKind === "server_streaming") {
      const handler = streamHandlerOf(edge, method.localName);
      implementation[method.localName] = (async (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const cancelled = new AbortController();
        call.once("cancelled", () => cancelled.abort());
        takeOverDeadline(call);
        const { messages, stopped } = options.lifecycle.stream(incomingOf(edge, method, call, cancelled.signal), (edgeCall) => handler(call.request as never, edgeCall));
        /** Resolves when grpc-js has room again, the client is gone, or the call must end; its listeners are removed either way. */
        const drained = () =>
          new Promise<void>((resolve) => {
            if (stopped.aborted || cancelled.signal.aborted) return resolve();
            const done = () => {
              call.off("drain", done);
              cancelled.signal.removeEventListener("abort", done);
              stopped.removeEventListener("abort", done);
              resolve();
            };
            call.on("drain", done);
            cancelled.signal.addEventListener("abort", done, { once: true });
            stopped.addEventListener("abort", done, { once: true });
          });
        try {
          for await (const message of messages) {
            // Once stopped, nothing waits for room: the handler is finishing (what it still yields,
            // such as health's last NOT_SERVING, is sent) and the call ends with its status.
            // write() says false once grpc-js buffers past its high-water mark: wait for the client to take it.
            if (!call.write(bytesOf(message))) await drained();
            if (cancelled.signal.aborted) return;
          }
          call.end();
        } catch (thrown) {
          if (!cancelled.signal.aborted) call.emit("error", statusOf(ConnectError.from(thrown)));
        }
      }) as grpc.handleServerStreamingCall<unknown, unknown>;
      continue;
    }
    const handler = handlerOf(edge, method.localName);
    implementation[method.localName] = (async (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      try {
        const bytes = await options.lifecycle.unary(incomingOf(edge, method, call), async (edgeCall) => bytesOf(await handler(call.request as never, edgeCall)));
        callback(null, bytes);
      } catch (thrown) {
        callback(statusOf(ConnectError.from(thrown)));
      }
    }) as grpc.handleUnaryCall<unknown, unknown>;
  }
  return implementation;
}

/**
 * Leaves a server stream's deadline to the call lifecycle, which ends the stream with
 * DEADLINE_EXCEEDED after what it wrote. grpc-js's own timer ends the HTTP/2 stream at once,
 * and a message still in grpc-js's write buffer then destroys it with no status at all (the
 * client waits for its own deadline, or forever). No option turns the timer off, so it is
 * cleared on grpc-js's call object (1.14; if the shape changes, grpc-js keeps its timer).
 */
function takeOverDeadline(call: grpc.ServerWritableStream<unknown, unknown>): void {
  let inner: unknown = (call as unknown as { call?: unknown }).call;
  for (let depth = 0; inner && depth < 8; depth++) {
    const timer = (inner as { deadlineTimer?: NodeJS.Timeout | null }).deadlineTimer;
    if (timer) {
      clearTimeout(timer);
      (inner as { deadlineTimer?: NodeJS.Timeout | null }).deadlineTimer = null;
      return;
    }
    inner = (inner as { nextCall?: unknown }).nextCall;
  }
}

/** A grpc-js call as the call lifecycle sees it. */
function incomingOf(edge: EdgeService, method: DescMethod, call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, cancelled?: AbortSignal): IncomingCall {
  const deadline = Number(call.getDeadline());
  const request = call.request;
  return {
    method: `/${edge.service.typeName}/${method.name}`,
    protocol: "grpc",
    header: (name) => {
      const value = call.metadata.get(name)[0];
      return typeof value === "string" ? value : undefined;
    },
    peerCertificateSubject: peerSubject(call),
    clientTimeoutMs: Number.isFinite(deadline) ? deadline - Date.now() : undefined,
    cancelled,
    malformed: request instanceof UndecodableRequest ? request.reason : undefined,
    requestType: method.input.typeName,
    public: edge.public,
    sendsEncoded: true,
  };
}

/** The status a ConnectError is sent as, with its details in grpc-status-details-bin. */
export function statusOf(error: ConnectError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set("grpc-status-details-bin", boundedDetails(error));
  return { code: error.code as number as grpc.status, details: clip(error.rawMessage, MAX_STATUS_MESSAGE), metadata };
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
function peerSubject(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): string | undefined {
  const certificate = (call as { getAuthContext?: () => { sslPeerCertificate?: { subject?: Record<string, string> } } })
    .getAuthContext?.()?.sslPeerCertificate;
  const subject = certificate?.subject;
  return subject ? formatSubject(subject) : undefined;
}
