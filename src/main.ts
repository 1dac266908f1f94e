import { format } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { ConfigError, loadConfig, withoutPassword, type Config } from "./config.js";
import { createLogger } from "./logger.js";
import { startService } from "./service.js";

/** Start-up: read the configuration, serve, and stop cleanly on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`switchyard: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.LOG_LEVEL);
  // grpc-js's own lines (a failed bind, say) as the service's JSON log lines, not bare stderr text.
  grpc.setLogger({
    error: (...args: unknown[]) => logger.warn({ source: "grpc-js" }, format(...args)),
    info: (...args: unknown[]) => logger.info({ source: "grpc-js" }, format(...args)),
    debug: (...args: unknown[]) => logger.debug({ source: "grpc-js" }, format(...args)),
  });
  let service;
  try {
    service = await startService(config, logger);
  } catch (error) {
    const port = unboundPort(error, config);
    if (port) logger.fatal(port.facts, `start-up failed: ${port.message}`);
    else logger.fatal({ err: error }, `start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  logger.info(
    { host: config.HOST, grpcPort: service.grpcPort, httpPort: service.httpPort, database: withoutPassword(config.DATABASE_URL) },
    "switchyard listening",
  );
  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      logger.error("shutdown timed out");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 5000);
    await service.stop();
    clearTimeout(timer);
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

/** Why a port could not be bound, from the listen error (node's, or grpc-js's message holding it). */
const BIND_FAILURES: Readonly<Record<string, string>> = {
  EADDRINUSE: "is already in use (is another server running?); stop it or choose another port",
  EACCES: "may not be bound by this user; choose a port above 1023",
  EADDRNOTAVAIL: "is on an address this machine does not have; check HOST",
};

/**
 * A port start-up could not bind, as one line naming the variable and the port: the
 * operator's mistake, which a stack trace would only bury. Undefined for other failures.
 */
function unboundPort(error: unknown, config: Config): { message: string; facts: Record<string, unknown> } | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const cause = typeof code === "string" && code in BIND_FAILURES ? code : Object.keys(BIND_FAILURES).find((c) => text.includes(c));
  if (!cause) return undefined;
  const port = Number((error as { port?: unknown }).port ?? /:(\d+)\]?$/.exec(text)?.[1]);
  const variable = port === config.GRPC_PORT ? "GRPC_PORT" : port === config.HTTP_PORT ? "HTTP_PORT" : "port";
  return { message: `${variable} ${port} on ${config.HOST} ${BIND_FAILURES[cause]}`, facts: { reason: cause, host: config.HOST, port, variable } };
}

await main();
