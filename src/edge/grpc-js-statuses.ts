import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createRequire } from "node:module";
import { edgeError } from "./command-error.js";
import { statusDetailsBin } from "./rpc-outcome.js";

/**
 * grpc-js answers two kinds of malformed request itself, below any handler or interceptor,
 * with INTERNAL: a message flagged as compressed that does not decompress, and a
 * `grpc-timeout` header it cannot parse. Both are the caller's error, so they are rewritten
 * to INVALID_ARGUMENT with ErrorInfo MALFORMED_REQUEST, like every other undecodable request.
 * No public hook reaches these answers; this wraps the one internal method that sends them
 * and refuses to start if grpc-js no longer has it.
 */
export function answerMalformedRequestsAsInvalidArgument(): void {
  const require = createRequire(import.meta.url);
  const internals = require("@grpc/grpc-js/build/src/server-interceptors.js") as {
    BaseServerInterceptingCall?: { prototype: { sendStatus?: (status: grpc.StatusObject) => void; [patched]?: true } };
  };
  const prototype = internals.BaseServerInterceptingCall?.prototype;
  if (typeof prototype?.sendStatus !== "function") {
    throw new Error("@grpc/grpc-js no longer has BaseServerInterceptingCall.sendStatus; review src/edge/grpc-js-statuses.ts");
  }
  if (prototype[patched]) return;
  const send = prototype.sendStatus;
  prototype.sendStatus = function sendStatus(this: unknown, status: grpc.StatusObject) {
    const problem = status.code === grpc.status.INTERNAL ? malformedProblem(status.details) : undefined;
    if (!problem) return send.call(this, status);
    const error = edgeError(Code.InvalidArgument, "MALFORMED_REQUEST", problem);
    const metadata = new grpc.Metadata();
    metadata.set("grpc-status-details-bin", statusDetailsBin(error));
    return send.call(this, { code: grpc.status.INVALID_ARGUMENT, details: problem, metadata });
  };
  prototype[patched] = true;
}

const patched = Symbol.for("switchyard.malformed-requests-patched");

function malformedProblem(details: string): string | undefined {
  if (details === "Failed to decompress message") return "the request message is flagged as compressed but does not decompress";
  if (details.startsWith("Invalid grpc-timeout value")) return "the grpc-timeout header is not a valid timeout";
  return undefined;
}
