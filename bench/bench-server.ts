// The service under benchmark: the real wiring (config from the environment) plus the echo
// RPC that measures the transport's ceiling. Prints the listening line like main.ts does.
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { startService } from "../src/service.js";
import { echoService } from "./echo-service.js";

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const service = await startService(config, logger, { services: [echoService] });
process.stderr.write(`${JSON.stringify({ msg: "listening", grpcPort: service.grpcPort, httpPort: service.httpPort })}\n`);
process.once("SIGTERM", () => void service.stop().then(() => process.exit(0)));
