// Raw calls for the bad-input suites: bytes in, a decoded outcome out, on every transport
// Switchyard serves (grpc-js on the gRPC port; Connect JSON/binary, gRPC-Web and gRPC over h2c on
// the HTTP port). Nothing here encodes for the caller: the bytes sent are exactly the bytes given.
// Unary calls first; then streaming calls, which read what a stream sends until it ends or has
// sent enough, and then cancel it.
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
      // The server is told the client's patience, less a margin, so a call that waits (min_position) is answered before the client gives up.
      headers: { "content-type": contentType, "connect-timeout-ms": "25000", ...headers },
      body: typeof body === "string" ? body : new Uint8Array(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    return { code: -1, message: `fetch failed: ${(error as Error).message}`, ms: performance.now() - started };
  }
  const bytes = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
  const ms = performance.now() - started;
  if (response.status === 200) return { code: 0, message: "", body: bytes, ms };
  let error: ConnectErrorJson;
  try {
    error = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { code: -1, message: `HTTP ${response.status} without a Connect error body`, ms };
  }
  return { ...connectError(error), ms };
}

/** A Connect error as JSON (a unary error body, or the `error` of a stream's end message). */
interface ConnectErrorJson {
  code?: string;
  message?: string;
  details?: Array<{ type: string; value: string }>;
}

function connectError(error: ConnectErrorJson): Omit<Outcome, "ms"> {
  const code = CONNECT_CODES[error.code ?? ""] ?? -1;
  const unpack = <D extends DescMessage>(schema: D) => {
    const detail = error.details?.find((d) => d.type === schema.typeName);
    return detail ? fromBinary(schema, Buffer.from(detail.value, "base64")) : undefined;
  };
  return { code, message: error.message ?? "", errorInfo: unpack(ErrorInfoSchema), badRequest: unpack(BadRequestSchema), commandResult: unpack(CommandResultSchema) };
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

// ---------------------------------------------------------------------------------------------
// Streaming calls (server-streaming and bidi): the request frames are sent whole and the request
// side closed; the answer is read until the stream ends or has sent `want` messages, and then
// the client cancels it, so no call outlives its outcome.

/** How a raw streaming call ended. */
export interface StreamOutcome extends Outcome {
  /** Every response message received, in order (gRPC framing removed, not decoded). */
  readonly messages: Uint8Array[];
  /**
   * The client cancelled the call while it was still open: it had sent `want` messages, or
   * nothing ended it within `waitMs`. `code` is then -1 and no status was read.
   */
  readonly cut: boolean;
}

export interface StreamOptions {
  /** Cancel once this many messages arrived (default: read to the end). */
  readonly want?: number;
  /** Cancel when neither `want` messages nor a status arrived within this (default 30 s). */
  readonly waitMs?: number;
  readonly headers?: Record<string, string>;
}

/** Splits a byte stream into length-prefixed frames (gRPC, gRPC-Web and Connect envelopes alike). */
class Envelopes {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Uint8Array): Array<{ flags: number; payload: Buffer }> {
    this.pending = this.pending.byteLength === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const out: Array<{ flags: number; payload: Buffer }> = [];
    while (this.pending.byteLength >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.byteLength < 5 + length) break;
      out.push({ flags: this.pending[0], payload: this.pending.subarray(5, 5 + length) });
      this.pending = this.pending.subarray(5 + length);
    }
    return out;
  }
  /** Bytes left over that do not make a whole frame. */
  get rest(): number {
    return this.pending.byteLength;
  }
}

/** A response frame's message, decompressed when its flag says so (by the response's grpc-encoding). */
function unframed(flags: number, payload: Buffer, encoding: string | null | undefined): Buffer {
  if ((flags & 1) === 0) return payload;
  try {
    return encoding === "gzip" ? gunzipSync(payload) : encoding === "br" ? brotliDecompressSync(payload) : payload;
  } catch {
    return payload; // left compressed: the caller's decoding then fails and says so
  }
}

/** Settles a streaming call once, with how long it took. */
function settler(resolve: (outcome: StreamOutcome) => void, messages: Uint8Array[], cleanup: () => void) {
  const started = performance.now();
  let settled = false;
  return {
    get settled() {
      return settled;
    },
    done(outcome: Omit<Outcome, "ms">, cut = false) {
      if (settled) return;
      settled = true;
      cleanup();
      resolve({ ...outcome, messages, cut, ms: performance.now() - started });
    },
  };
}

/** A streaming gRPC call over a raw HTTP/2 stream (either port: grpc-js or connect-node over h2c). */
export function h2GrpcStream(session: http2.ClientHttp2Session, path: string, body: Uint8Array, options: StreamOptions = {}): Promise<StreamOutcome> {
  const { want = Infinity, waitMs = 30_000, headers = {} } = options;
  return new Promise((resolve) => {
    const messages: Uint8Array[] = [];
    let stream: http2.ClientHttp2Stream | undefined;
    let timer: NodeJS.Timeout | undefined;
    const call = settler(resolve, messages, () => clearTimeout(timer));
    const cut = () => {
      stream?.close(http2.constants.NGHTTP2_CANCEL);
      call.done({ code: -1, message: `cancelled by the client after ${messages.length} message(s)` }, true);
    };
    try {
      stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    } catch (error) {
      return call.done({ code: -1, message: `cannot start a stream: ${(error as Error).message}` });
    }
    timer = setTimeout(cut, waitMs);
    const frames = new Envelopes();
    let head: http2.IncomingHttpHeaders = {};
    let tail: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => (head = h));
    stream.on("trailers", (t) => (tail = t));
    stream.on("data", (chunk: Buffer) => {
      for (const { flags, payload } of frames.push(chunk)) messages.push(unframed(flags, payload, head["grpc-encoding"] as string | undefined));
      if (messages.length >= want) cut();
    });
    stream.on("error", (e) => call.done({ code: -1, message: `stream error: ${e.message}` }));
    stream.on("close", () => {
      const status = tail["grpc-status"] ?? head["grpc-status"];
      if (status === undefined) return call.done({ code: -1, message: `no grpc-status (HTTP ${head[":status"]}, RST ${stream!.rstCode})` });
      const bin = tail["grpc-status-details-bin"] ?? head["grpc-status-details-bin"];
      call.done({ code: Number(status), message: percentDecoded(String(tail["grpc-message"] ?? head["grpc-message"] ?? "")), ...detailsOf(bin ? Buffer.from(String(bin), "base64") : undefined) });
    });
    stream.end(Buffer.from(body));
  });
}

/** A server-streaming call through grpc-js with the request bytes as they are; `deadlineMs` is sent as grpc-timeout. */
export function grpcJsStream(client: grpc.Client, path: string, request: Uint8Array, options: StreamOptions & { deadlineMs?: number } = {}): Promise<StreamOutcome> {
  const { want = Infinity, waitMs = 30_000, headers = {}, deadlineMs = 60_000 } = options;
  return new Promise((resolve) => {
    const messages: Uint8Array[] = [];
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    let timer: NodeJS.Timeout | undefined;
    const call = settler(resolve, messages, () => clearTimeout(timer));
    const stream = client.makeServerStreamRequest(path, identity, identity, Buffer.from(request), metadata, { deadline: Date.now() + deadlineMs });
    const cut = () => {
      call.done({ code: -1, message: `cancelled by the client after ${messages.length} message(s)` }, true);
      stream.cancel();
    };
    timer = setTimeout(cut, waitMs);
    stream.on("data", (message: Buffer) => {
      messages.push(message);
      if (messages.length >= want) cut();
    });
    stream.on("error", (error: grpc.ServiceError) => {
      const bin = error.metadata?.get("grpc-status-details-bin")[0];
      call.done({ code: error.code, message: error.details, ...detailsOf(bin instanceof Buffer ? bin : undefined) });
    });
    stream.on("status", (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) call.done({ code: 0, message: status.details });
    });
  });
}

/**
 * A streaming call over HTTP/1.1 on the HTTP port: the Connect streaming protocol
 * (`application/connect+proto` or `+json`) or gRPC-Web (`application/grpc-web+proto`). The body
 * is the request envelope(s) as given; the client aborts the fetch to cancel.
 */
export async function fetchStream(baseUrl: string, path: string, body: Uint8Array, contentType: "application/connect+proto" | "application/connect+json" | "application/grpc-web+proto", options: StreamOptions = {}): Promise<StreamOutcome> {
  const { want = Infinity, waitMs = 30_000, headers = {} } = options;
  const started = performance.now();
  const messages: Uint8Array[] = [];
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), waitMs);
  const outcome = (o: Omit<Outcome, "ms">, cut = false): StreamOutcome => ({ ...o, messages, cut, ms: performance.now() - started });
  const cutOutcome = () => outcome({ code: -1, message: `cancelled by the client after ${messages.length} message(s)` }, true);
  const grpcWebFields = new Map<string, string>();
  try {
    const response = await fetch(baseUrl + path, {
      method: "POST",
      headers: { "content-type": contentType, ...(contentType === "application/grpc-web+proto" ? { "x-grpc-web": "1" } : {}), ...headers },
      body: new Uint8Array(body),
      signal: abort.signal,
    });
    for (const name of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) {
      const value = response.headers.get(name);
      if (value !== null) grpcWebFields.set(name, value);
    }
    const connect = contentType.startsWith("application/connect");
    if (connect && response.status !== 200) {
      // Connect answers a call refused before streaming with a unary-style error body.
      const text = await response.text();
      try {
        return outcome(connectError(JSON.parse(text) as ConnectErrorJson));
      } catch {
        return outcome({ code: -1, message: `HTTP ${response.status} without a Connect error body` });
      }
    }
    const frames = new Envelopes();
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const { flags, payload } of frames.push(value)) {
        if (connect && flags & 0x02) {
          let end: { error?: ConnectErrorJson };
          try {
            end = JSON.parse(payload.toString("utf8"));
          } catch {
            return outcome({ code: -1, message: "a Connect end-stream message that is not JSON" });
          }
          return outcome(end.error ? connectError(end.error) : { code: 0, message: "" });
        }
        if (!connect && flags & 0x80) {
          for (const line of payload.toString("utf8").split("\r\n")) {
            const colon = line.indexOf(":");
            if (colon > 0) grpcWebFields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
          }
          continue;
        }
        messages.push(connect ? payload : unframed(flags, payload, response.headers.get("grpc-encoding")));
        if (messages.length >= want) {
          abort.abort();
          return cutOutcome();
        }
      }
    }
    if (connect) return outcome({ code: -1, message: `the stream ended without an end-stream message (HTTP ${response.status})` });
    const status = grpcWebFields.get("grpc-status");
    if (status === undefined) return outcome({ code: -1, message: `no grpc-status (HTTP ${response.status})` });
    const bin = grpcWebFields.get("grpc-status-details-bin");
    return outcome({ code: Number(status), message: percentDecoded(grpcWebFields.get("grpc-message") ?? ""), ...detailsOf(bin ? Buffer.from(bin, "base64") : undefined) });
  } catch (error) {
    if (abort.signal.aborted) return cutOutcome();
    return outcome({ code: -1, message: `fetch failed: ${(error as Error).message}` });
  } finally {
    clearTimeout(timer);
  }
}
