import { Code } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { edgeError } from "./command-error.js";
import { edgeService } from "./edge-service.js";

export { ServingStatus };

/** Longest service name a health call accepts. */
const MAX_SERVICE_NAME = 200;

/**
 * The standard grpc.health.v1 service, served on both ports through the same call lifecycle
 * as every other service (so garbage input is INVALID_ARGUMENT, never INTERNAL), without
 * authentication. "" is the whole server. Check of an unknown service is NOT_FOUND; Watch of
 * one answers SERVICE_UNKNOWN and stays open, as the protocol says.
 */
export function createHealth(names: readonly string[]) {
  const statuses = new Map<string, ServingStatus>(names.map((name) => [name, ServingStatus.SERVING]));
  const watchers = new Set<() => void>();

  /** Resolves on the next status change, or when the signal aborts. */
  function changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        watchers.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      watchers.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  function checkedName(service: string): string {
    if (service.length > MAX_SERVICE_NAME) throw edgeError(Code.InvalidArgument, "INVALID_SERVICE_NAME", `service must be at most ${MAX_SERVICE_NAME} characters`);
    return service;
  }

  const service = edgeService(
    Health,
    {
      async check({ service }) {
        const status = statuses.get(checkedName(service));
        if (status === undefined) throw edgeError(Code.NotFound, "SERVICE_UNKNOWN", `no service named "${service}" is served here`);
        return { status };
      },
      async list() {
        return { statuses: Object.fromEntries([...statuses].map(([name, status]) => [name, { status }])) };
      },
      async *watch({ service }, call) {
        const name = checkedName(service);
        let sent: ServingStatus | undefined;
        while (!call.signal.aborted) {
          const status = statuses.get(name) ?? ServingStatus.SERVICE_UNKNOWN;
          const next = changed(call.signal);
          if (status !== sent) {
            sent = status;
            yield { status };
          }
          await next;
        }
        // A change that came with the abort (NOT_SERVING as the server drains) is still told.
        const last = statuses.get(name) ?? ServingStatus.SERVICE_UNKNOWN;
        if (last !== sent) yield { status: last };
      },
    },
    { public: true },
  );

  return {
    service,
    /** Sets every known service's status (the service as a whole changes together). */
    setAll(status: ServingStatus.SERVING | ServingStatus.NOT_SERVING): void {
      for (const name of statuses.keys()) statuses.set(name, status);
      for (const wake of [...watchers]) wake();
    },
    /** The server's overall status. */
    get serving(): boolean {
      return statuses.get("") === ServingStatus.SERVING;
    },
  };
}

export type HealthService = ReturnType<typeof createHealth>;
