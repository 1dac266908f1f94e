// The service under benchmark: the real wiring (config from the environment) plus the echo
// RPC that measures the transport's ceiling. Prints the listening line like main.ts does.
// BENCH_FREE_APPENDS=1 gives it a store whose appends write nothing (bench/store-cost.ts).
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { startService } from "../src/service.js";
import { openStore } from "../src/store/open-store.js";
import { echoService } from "./echo-service.js";
import { withFreeAppends } from "./free-appends.js";

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const store = process.env.BENCH_FREE_APPENDS === "1" ? withFreeAppends(await openStore(config)) : undefined;
const service = await startService(config, logger, { services: [echoService], store });
process.stderr.write(`${JSON.stringify({ msg: "listening", grpcPort: service.grpcPort, httpPort: service.httpPort })}\n`);
process.once("SIGTERM", () => void service.stop().then(() => process.exit(0)));
