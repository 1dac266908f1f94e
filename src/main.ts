import { ConfigError, loadConfig, withoutPassword } from "./config.js";
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
  let service;
  try {
    service = await startService(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `start-up failed: ${error instanceof Error ? error.message : String(error)}`);
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

await main();
