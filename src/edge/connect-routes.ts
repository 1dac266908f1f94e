import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import type { CallLifecycle, IncomingCall } from "./call-lifecycle.js";
import { handlerOf, streamHandlerOf, type EdgeService } from "./edge-service.js";
import { CLIENT_SUBJECT_HEADER } from "./http-server.js";

/** What the Connect routes need besides the services. */
export interface ConnectRoutesOptions {
  readonly services: readonly EdgeService[];
  /** Authentication, drain, deadlines, errors and the log line, shared with the gRPC port. */
  readonly lifecycle: CallLifecycle;
}

/**
 * Registers the edge services on a Connect router (Connect JSON and binary, gRPC-Web): the
 * same handlers the gRPC port runs, through the same call lifecycle; this file only
 * translates between it and connect-node.
 */
export function connectRoutes({ services, lifecycle }: ConnectRoutesOptions): (router: ConnectRouter) => void {
  return (router) => {
    for (const edge of services) {
      const impl: Record<string, unknown> = {};
      for (const method of edge.service.methods) {
        if (method.methodKind === "server_streaming") {
          const handler = streamHandlerOf(edge, method.localName);
          impl[method.localName] = (request: never, context: HandlerContext) => lifecycle.stream(incomingOf(edge, method, context), (call) => handler(request, call)).messages;
        } else {
          const handler = handlerOf(edge, method.localName);
          impl[method.localName] = (request: never, context: HandlerContext) => lifecycle.unary(incomingOf(edge, method, context), (call) => handler(request, call));
        }
      }
      router.service(edge.service, impl as never);
    }
  };
}

/** A connect-node call as the call lifecycle sees it. */
function incomingOf(edge: EdgeService, method: DescMethod, context: HandlerContext): IncomingCall {
  const header = (name: string) => context.requestHeader.get(name) ?? undefined;
  return {
    method: `/${edge.service.typeName}/${method.name}`,
    protocol: context.protocolName,
    header,
    peerCertificateSubject: header(CLIENT_SUBJECT_HEADER),
    clientTimeoutMs: context.timeoutMs(),
    cancelled: context.signal,
    requestType: method.input.typeName,
    public: edge.public,
  };
}
