import { isUtf8 } from "node:buffer";
import { fromBinary, fromJson, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { badRequest, malformedRequest } from "./command-error.js";
import { invalidJsonFields, unknownJsonFields } from "./unknown-json-fields.js";

/** Options of {@link connectAdapter}: connect-node's router options plus the routes. */
export interface ConnectAdapterOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
}

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

const COMPRESSIONS = [compressionGzip, compressionBrotli];

/**
 * connect-node's `connectNodeAdapter`, plus one guarantee: a request body that is not a valid
 * message gets INVALID_ARGUMENT (reason MALFORMED_REQUEST), as on the gRPC port. connect-es
 * answers a protobuf decoding failure with INTERNAL ("parse binary: …"), and accepts invalid
 * UTF-8 in JSON by substituting U+FFFD; both are the caller's fault, not the server's. So each
 * request body is read here (connect buffers unary bodies anyway), checked, and handed on.
 * A JSON body naming a field its message does not have is INVALID_ARGUMENT with a BadRequest
 * violation per unknown field; binary protobuf keeps its unknown fields (wire compatibility).
 */
export function connectAdapter(options: ConnectAdapterOptions): (req: NodeRequest, res: NodeResponse) => void {
  const acceptCompression = options.acceptCompression ?? COMPRESSIONS;
  // Unknown JSON fields are refused (see unknownJsonFields, which names them first); connect
  // ignores them by default.
  const jsonOptions = { ignoreUnknownFields: false, ...options.jsonOptions };
  const router = createConnectRouter({ ...options, acceptCompression, jsonOptions });
  options.routes(router);
  const readMaxBytes = options.readMaxBytes ?? 0xffffffff;
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = handlers.get(req.url?.split("?", 2)[0] ?? "");
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, undefined);
    const body = uReq.body;
    // A stream of requests (reflection) is checked frame by frame as it comes: buffering it would wait for the client's last one.
    const oneRequest = handler.method.methodKind === "unary" || handler.method.methodKind === "server_streaming";
    const check = oneRequest ? checkedBody : checkedFrames;
    const checked: UniversalServerRequest =
      typeof body === "object" && body !== null && Symbol.asyncIterator in body
        ? { ...uReq, body: check(body as AsyncIterable<Uint8Array>, uReq.header, handler.method.input, readMaxBytes) }
        : uReq;
    handler(checked)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
      });
  };
}

/** How a request body is framed and encoded, from its content type. */
function framingOf(headers: Headers): { enveloped: boolean; binary: boolean; encoding: string | null } | undefined {
  const type = (headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/proto") return { enveloped: false, binary: true, encoding: headers.get("content-encoding") };
  if (type === "application/json") return { enveloped: false, binary: false, encoding: headers.get("content-encoding") };
  // Connect's streaming protocol: enveloped like gRPC, compression named by its own header.
  if (type === "application/connect+proto") return { enveloped: true, binary: true, encoding: headers.get("connect-content-encoding") };
  if (type === "application/connect+json") return { enveloped: true, binary: false, encoding: headers.get("connect-content-encoding") };
  const grpc = /^application\/grpc(?:-web)?(?:\+(proto|json))?$/.exec(type);
  if (grpc) return { enveloped: true, binary: grpc[1] !== "json", encoding: headers.get("grpc-encoding") };
  return undefined; // not a content type connect serves unary calls with: it answers that itself
}

/**
 * Buffers the body (up to the size limit; past it everything is passed through and connect
 * answers RESOURCE_EXHAUSTED), checks that every message in it decodes, then yields it whole.
 */
async function* checkedBody(body: AsyncIterable<Uint8Array>, headers: Headers, input: DescMessage, readMaxBytes: number): AsyncIterable<Uint8Array> {
  const framing = framingOf(headers);
  if (!framing) {
    yield* body;
    return;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    chunks.push(next.value);
    size += next.value.byteLength;
    if (size > readMaxBytes + 5) {
      yield* chunks;
      yield* { [Symbol.asyncIterator]: () => iterator };
      return;
    }
  }
  const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  if (framing.enveloped) {
    // A unary call carries exactly one whole message. connect would answer a missing or second
    // one with UNIMPLEMENTED and a compressed flag without an encoding with INTERNAL.
    let messages = 0;
    let offset = 0;
    for (;;) {
      if (offset === bytes.byteLength) break;
      if (offset + 5 > bytes.byteLength) throw malformed(input, "the body ends inside a frame header");
      const flags = bytes[offset];
      const length = new DataView(bytes.buffer, bytes.byteOffset + offset + 1, 4).getUint32(0);
      if (length > readMaxBytes) break; // connect answers RESOURCE_EXHAUSTED, naming the limit
      const start = offset + 5;
      if (start + length > bytes.byteLength) throw malformed(input, "the body ends inside a frame");
      if ((flags & 0x80) === 0) {
        if (++messages > 1) throw malformed(input, "a unary call carries exactly one request message; this one had more");
        const compressed = (flags & 1) === 1;
        if (compressed && (!framing.encoding || framing.encoding === "identity")) {
          throw malformed(input, "the message is flagged compressed but grpc-encoding names no compression");
        }
        await check(bytes.subarray(start, start + length), compressed ? framing.encoding : null, framing.binary, input, readMaxBytes, true);
      }
      offset = start + length;
    }
    if (messages === 0 && offset === bytes.byteLength) throw malformed(input, "a unary call carries exactly one request message; this one had none");
  } else {
    await check(bytes, framing.encoding, framing.binary, input, readMaxBytes);
  }
  yield bytes;
}

/**
 * A stream of enveloped request messages, each checked as its frame completes and passed on
 * at once (connect-node answers an undecodable one of a bidirectional stream with INTERNAL).
 */
async function* checkedFrames(body: AsyncIterable<Uint8Array>, headers: Headers, input: DescMessage, readMaxBytes: number): AsyncIterable<Uint8Array> {
  const framing = framingOf(headers);
  if (!framing?.enveloped) {
    yield* body;
    return;
  }
  let pending: Uint8Array = new Uint8Array(0);
  for await (const chunk of body) {
    pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.byteLength - offset >= 5) {
      const flags = pending[offset];
      const length = new DataView(pending.buffer, pending.byteOffset + offset + 1, 4).getUint32(0);
      if (length > readMaxBytes) {
        // connect answers RESOURCE_EXHAUSTED, naming the limit
        yield pending.subarray(offset);
        yield* body;
        return;
      }
      if (pending.byteLength - offset - 5 < length) break;
      if ((flags & 0x82) === 0) {
        const compressed = (flags & 1) === 1;
        if (compressed && (!framing.encoding || framing.encoding === "identity")) {
          throw malformed(input, "the message is flagged compressed but no compression is named");
        }
        await check(pending.subarray(offset + 5, offset + 5 + length), compressed ? framing.encoding : null, framing.binary, input, readMaxBytes, true);
      }
      offset += 5 + length;
    }
    if (offset > 0) {
      yield pending.subarray(0, offset);
      pending = pending.subarray(offset);
    }
  }
  if (pending.byteLength > 0) throw malformed(input, "the body ends inside a frame");
}

/** Throws INVALID_ARGUMENT when a message does not decode; leaves compression errors to connect. */
async function check(message: Uint8Array, encoding: string | null, binary: boolean, input: DescMessage, readMaxBytes: number, enveloped = false): Promise<void> {
  let plain = message;
  if (encoding && encoding !== "identity") {
    const compression = COMPRESSIONS.find((c) => c.name === encoding);
    if (!compression) return;
    try {
      plain = await compression.decompress(message, readMaxBytes);
    } catch (error) {
      // Too large after decompression stays RESOURCE_EXHAUSTED; anything else is a corrupt body
      // (connect would answer some zlib failures, e.g. a truncated stream, with INTERNAL).
      if (error instanceof ConnectError && error.code === Code.ResourceExhausted) throw error;
      throw malformed(input, `the message does not decompress with ${encoding}`);
    }
  }
  if (!binary) {
    if (!isUtf8(plain)) throw malformed(input, "the JSON body is not valid UTF-8");
    const text = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength).toString("utf8");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      // A unary call's JSON syntax errors already get INVALID_ARGUMENT from connect; a streaming call's would be INTERNAL.
      if (!enveloped) return;
      throw malformed(input, error instanceof Error ? error.message : String(error));
    }
    const unknown = unknownJsonFields(input, json);
    if (unknown.length > 0) throw badRequest(unknown);
    // Decoded here too, so a field that does not decode is named (connect's own answer names none and carries no details).
    try {
      fromJson(input, json as never);
    } catch (error) {
      const invalid = invalidJsonFields(input, json);
      throw invalid.length > 0 ? badRequest(invalid) : malformed(input, error instanceof Error ? error.message : String(error));
    }
    return;
  }
  try {
    fromBinary(input, plain);
  } catch (error) {
    throw malformed(input, error instanceof Error ? error.message : String(error));
  }
}

function malformed(input: DescMessage, reason: string): ConnectError {
  return malformedRequest(input.typeName, reason);
}
