import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { StoreUnavailableError } from "../store/event-store.js";
import { edgeError } from "./command-error.js";

/**
 * Turns anything a handler threw into a ConnectError. A ConnectError passes through; a
 * StoreUnavailableError becomes UNAVAILABLE (STORE_UNAVAILABLE); any other error is a bug:
 * it is logged with a fresh error id and the caller gets INTERNAL with that id only, never
 * the message or stack.
 */
export function toConnectError(error: unknown, logger: Logger, method: string): ConnectError {
  if (error instanceof ConnectError) return error;
  // A query (GetBooking, ReadStream, ReadAll) that met a locked, full, read-only or corrupt
  // store: UNAVAILABLE like a command would get, not INTERNAL.
  if (error instanceof StoreUnavailableError) return edgeError(Code.Unavailable, "STORE_UNAVAILABLE", error.message, { storeReason: error.reason });
  const errorId = randomUUID();
  logger.error({ err: error, errorId, method }, "handler failed");
  return edgeError(Code.Internal, "INTERNAL", `internal error ${errorId}`, { errorId });
}

/** The google.rpc.Status bytes carried in `grpc-status-details-bin`. */
export function statusDetailsBin(error: ConnectError): Buffer {
  const details = error.details.flatMap((d) => ("desc" in d ? [anyPack(d.desc, create(d.desc, d.value))] : []));
  return Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code: error.code, message: error.rawMessage, details })));
}

/** gRPC code names for log lines. */
export function codeName(code: number): string {
  return code === 0 ? "OK" : (Code[code] ?? String(code));
}

