// Raw unary calls for the bad-input suites: bytes in, a decoded outcome out, on every transport
// Switchyard serves (grpc-js on the gRPC port; Connect JSON/binary, gRPC-Web and gRPC over h2c on
// the HTTP port). Nothing here encodes for the caller: the bytes sent are exactly the bytes given.
import * as http2 from "node:http2";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { BadRequestSchema, ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import { CommandResultSchema } from "../../src/gen/switchyard/command/v1/command_pb.js";

/** How a raw call ended, with Switchyard's rich details decoded when the answer carried them. */
export interface Outcome {
  /** gRPC code (0 OK); -1 when no status arrived at all (connection dropped, hung, unparsable answer). */
  readonly code: number;
  readonly message: string;
  /** The response message bytes on OK (gRPC transports and Connect binary), or the JSON text (Connect JSON). */
  readonly body?: Uint8Array;
  readonly errorInfo?: MessageShape<typeof ErrorInfoSchema>;
  readonly badRequest?: MessageShape<typeof BadRequestSchema>;
  readonly commandResult?: MessageShape<typeof CommandResultSchema>;
  /** Milliseconds from send to answer. */
  readonly ms: number;
}

/** The gRPC wire frame of one message: flags, big-endian length (the real one unless given), bytes. */
export function frame(message: Uint8Array, flags = 0, declaredLength = message.byteLength): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([head, message]);
}

/** Decodes google.rpc.Status bytes into the details Switchyard sends. */
export function detailsOf(statusBytes: Uint8Array | undefined): Pick<Outcome, "errorInfo" | "badRequest" | "commandResult"> {
  if (!statusBytes || statusBytes.byteLength === 0) return {};
  let details: Any[];
  try {
    details = fromBinary(StatusSchema, statusBytes).details;
  } catch {
    return {};
  }
  const find = <D extends DescMessage>(schema: D) => details.map((d) => anyUnpack(d, schema)).find((m) => m !== undefined);
  return { errorInfo: find(ErrorInfoSchema), badRequest: find(BadRequestSchema), commandResult: find(CommandResultSchema) };
}

const identity = (b: Buffer) => b;

/** grpc-message is percent-encoded; a malformed escape is kept as sent. */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A unary call through grpc-js with the request bytes as they are (grpc-js frames them). */
export function grpcJsRaw(client: grpc.Client, path: string, request: Uint8Array, options: { deadlineMs?: number; metadata?: Record<string, string> } = {}): Promise<Outcome> {
  const started = performance.now();
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
  return new Promise((resolve) =>
    client.makeUnaryRequest(path, identity, identity, Buffer.from(request), metadata, { deadline: Date.now() + (options.deadlineMs ?? 30_000) }, (error, response) => {
      const ms = performance.now() - started;
      if (!error) return resolve({ code: 0, message: "", body: response, ms });
      const bin = error.metadata?.get("grpc-status-details-bin")[0];
      resolve({ code: error.code, message: error.details, ...detailsOf(bin instanceof Buffer ? bin : undefined), ms });
    }),
  );
}

/**
 * A gRPC call over a raw HTTP/2 stream: the body is sent as given (so frames may be truncated,
 * doubled, flagged compressed or lie about their length). `session` is reused across calls.
 */
export function h2Grpc(session: http2.ClientHttp2Session, path: string, body: Uint8Array, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (outcome: Omit<Outcome, "ms">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, ms: performance.now() - started });
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    } catch (error) {
      return done({ code: -1, message: `cannot start a stream: ${(error as Error).message} (destroyed ${session.destroyed}, closed ${session.closed})` });
    }
    timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      done({ code: -1, message: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    let head: http2.IncomingHttpHeaders = {};
    let tail: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (head = h));
    stream.on("trailers", (t) => (tail = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", (e) => done({ code: -1, message: `stream error: ${e.message}` }));
    stream.on("close", () => {
      const status = tail["grpc-status"] ?? head["grpc-status"];
      if (status === undefined) return done({ code: -1, message: `no grpc-status (HTTP ${head[":status"]})` });
      const message = percentDecoded(String(tail["grpc-message"] ?? head["grpc-message"] ?? ""));
      const bin = tail["grpc-status-details-bin"] ?? head["grpc-status-details-bin"];
      const data = Buffer.concat(chunks);
      done({ code: Number(status), message, body: data.byteLength >= 5 ? data.subarray(5) : undefined, ...detailsOf(bin ? Buffer.from(String(bin), "base64") : undefined) });
    });
    stream.end(Buffer.from(body));
  });
}

const CONNECT_CODES: Record<string, number> = {
  canceled: 1, unknown: 2, invalid_argument: 3, deadline_exceeded: 4, not_found: 5, already_exists: 6, permission_denied: 7,
  resource_exhausted: 8, failed_precondition: 9, aborted: 10, out_of_range: 11, unimplemented: 12, internal: 13, unavailable: 14,
  data_loss: 15, unauthenticated: 16,
};

/** A Connect unary call over HTTP/1.1: `application/json` or `application/proto`, the body as given. */
export async function connectUnary(baseUrl: string, path: string, body: Uint8Array | string, contentType: "application/json" | "application/proto", headers: Record<string, string> = {}): Promise<Outcome> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(baseUrl + path, {
      method: "POST",
      headers: { "content-type": contentType, ...headers },
      body: typeof body === "string" ? body : new Uint8Array(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    return { code: -1, message: `fetch failed: ${(error as Error).message}`, ms: performance.now() - started };
  }
  const bytes = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
  const ms = performance.now() - started;
  if (response.status === 200) return { code: 0, message: "", body: bytes, ms };
  let error: { code?: string; message?: string; details?: Array<{ type: string; value: string }> };
  try {
    error = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { code: -1, message: `HTTP ${response.status} without a Connect error body`, ms };
  }
  const code = CONNECT_CODES[error.code ?? ""] ?? -1;
  const unpack = <D extends DescMessage>(schema: D) => {
    const detail = error.details?.find((d) => d.type === schema.typeName);
    return detail ? fromBinary(schema, Buffer.from(detail.value, "base64")) : undefined;
  };
  return { code, message: error.message ?? "", errorInfo: unpack(ErrorInfoSchema), badRequest: unpack(BadRequestSchema), commandResult: unpack(CommandResultSchema), ms };
}

/** A gRPC-Web call over HTTP/1.1 (`application/grpc-web+proto`), the body (frames) as given. */
export async function grpcWeb(baseUrl: string, path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<Outcome> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(baseUrl + path, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers },
      body: new Uint8Array(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    return { code: -1, message: `fetch failed: ${(error as Error).message}`, ms: performance.now() - started };
  }
  const bytes = Buffer.from(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
  const ms = performance.now() - started;
  const fields = new Map<string, string>();
  for (const name of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) {
    const value = response.headers.get(name);
    if (value !== null) fields.set(name, value);
  }
  let message: Uint8Array | undefined;
  for (let offset = 0; offset + 5 <= bytes.byteLength; ) {
    const flags = bytes[offset];
    const length = bytes.readUInt32BE(offset + 1);
    let payload = bytes.subarray(offset + 5, offset + 5 + length);
    if (flags & 1) {
      const encoding = response.headers.get("grpc-encoding");
      payload = encoding === "gzip" ? gunzipSync(payload) : encoding === "br" ? brotliDecompressSync(payload) : payload;
    }
    if (flags & 0x80) {
      for (const line of payload.toString("utf8").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    } else message = payload;
    offset += 5 + length;
  }
  const status = fields.get("grpc-status");
  if (status === undefined) return { code: -1, message: `no grpc-status (HTTP ${response.status})`, ms };
  const bin = fields.get("grpc-status-details-bin");
  return {
    code: Number(status),
    message: percentDecoded(fields.get("grpc-message") ?? ""),
    body: message,
    ...detailsOf(bin ? Buffer.from(bin, "base64") : undefined),
    ms,
  };
}
