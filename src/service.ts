import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { bookingCommands } from "./domain/booking/index.js";
import { trustLoopbackCallers } from "./edge/auth.js";
import { connectRoutes } from "./edge/connect-routes.js";
import { createDrain } from "./edge/drain.js";
import { startGrpcServer } from "./edge/grpc-server.js";
import { startHttpServer } from "./edge/http-server.js";
import { addReflection } from "./edge/reflection.js";
import { Health } from "./gen/grpc/health/v1/health_pb.js";
import { createApp } from "./pipeline/app.js";
import { edgeServices } from "./services/index.js";
import { openStore } from "./store/open-store.js";

/** A running Switchyard: both ports bound, the store open. */
export interface RunningService {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Drains (health NOT_SERVING, new calls UNAVAILABLE), finishes in-flight calls, closes the store. */
  stop(): Promise<void>;
}

/** Opens the store and serves the booking domain on the gRPC and HTTP ports. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const store = await openStore(config);
  const app = createApp({
    store,
    commands: bookingCommands,
    onFailure: (errorId, error, envelope) => logger.error({ err: error, errorId, commandType: envelope.type }, "command failed"),
  });
  const services = edgeServices(app);
  const drain = createDrain();
  const health = new HealthImplementation({ "": "SERVING", ...Object.fromEntries(services.map((s) => [s.service.typeName, "SERVING"])) });
  const common = { services, authenticate: trustLoopbackCallers, drain, logger };

  const grpcServer = await startGrpcServer({
    ...common,
    host: config.HOST,
    port: config.GRPC_PORT,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    extra: (server) => {
      health.addToServer(server);
      if (config.REFLECTION === "on") addReflection(server, [...services.map((s) => s.service), Health]);
    },
  });
  const httpServer = await startHttpServer({
    host: config.HOST,
    port: config.HTTP_PORT,
    routes: connectRoutes(common),
    readMaxBytes: config.MAX_MESSAGE_BYTES,
    isDraining: () => drain.draining,
  });

  let stopping: Promise<void> | undefined;
  return {
    grpcPort: grpcServer.port,
    httpPort: httpServer.port,
    stop: () =>
      (stopping ??= (async () => {
        for (const name of ["", ...services.map((s) => s.service.typeName)]) health.setStatus(name, "NOT_SERVING");
        const finished = await drain.drain(config.SHUTDOWN_TIMEOUT_MS);
        logger.info({ inFlight: drain.inFlight, finished }, "drained");
        await Promise.all([grpcServer.close(1000), httpServer.close(1000)]);
        await store.close();
      })()),
  };
}
