import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Authenticate } from "./grpc-server.js";
import { handlerOf, type EdgeCall, type EdgeService } from "./edge-service.js";
import { DEFAULT_LIMITS, effectiveDeadline, withinDeadline, withWellFormedMessage } from "./limits.js";
import { codeName, toConnectError } from "./rpc-outcome.js";
import type { Drain } from "./drain.js";
import { CLIENT_SUBJECT_HEADER } from "./http-server.js";

/** What the Connect routes need besides the services. */
export interface ConnectRoutesOptions {
  readonly services: readonly EdgeService[];
  readonly authenticate: Authenticate;
  readonly drain: Drain;
  readonly logger: Logger;
  /** Longest a call may run (MAX_DEADLINE_MS); a longer client timeout, or none, is cut to this. */
  readonly maxDeadlineMs?: number;
}

/**
 * Registers the edge services on a Connect router (Connect JSON and binary, gRPC-Web):
 * the same handlers the gRPC port runs, with the same authentication, draining and log line.
 */
export function connectRoutes(options: ConnectRoutesOptions): (router: ConnectRouter) => void {
  return (router) => {
    for (const edge of options.services) {
      const impl: Record<string, (request: never, context: HandlerContext) => Promise<unknown>> = {};
      for (const method of edge.service.methods) {
        const path = `/${edge.service.typeName}/${method.name}`;
        const handler = handlerOf(edge, method.localName);
        impl[method.localName] = async (request, context) => {
          const started = process.hrtime.bigint();
          const deadline = effectiveDeadline(context.timeoutMs(), options.maxDeadlineMs ?? DEFAULT_LIMITS.maxDeadlineMs);
          const log: Record<string, unknown> = {};
          const leave = options.drain.enter();
          let code = 0;
          try {
            const header = (name: string) => context.requestHeader.get(name) ?? undefined;
            return await withinDeadline(deadline, async () => {
              // Counted until the work itself ends, even when the deadline answered first: shutdown waits for it.
              const workDone = options.drain.enter();
              try {
                const identity = await options.authenticate({ header, peerCertificateSubject: header(CLIENT_SUBJECT_HEADER) });
                const call: EdgeCall = { method: path, identity, header, log };
                return await handler(request, call);
              } finally {
                workDone();
              }
            });
          } catch (thrown) {
            const error = withWellFormedMessage(toConnectError(thrown, options.logger, path));
            code = error.code;
            throw error;
          } finally {
            leave();
            options.logger.info(
              { rpc: context.protocolName, method: path, code: codeName(code), durationMs: Number(process.hrtime.bigint() - started) / 1e6, ...log },
              "rpc",
            );
          }
        };
      }
      router.service(edge.service, impl as never);
    }
  };
}
