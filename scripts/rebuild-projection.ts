// Rebuilds one of the booking domain's read models from every event, while services keep
// running on the same store, and swaps it in: npm run projections:rebuild -- <name>.
import { existsSync } from "node:fs";
import { createEventFeed } from "../src/consumer/event-feed.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { bookingProjections } from "../src/domain/booking/index.js";
import { rebuildProjection } from "../src/read/rebuild.js";
import { openStore, sqlitePathOf } from "../src/store/open-store.js";

const name = process.argv[2];
const projection = bookingProjections.find((p) => p.collection === name);
if (!projection) {
  process.stderr.write(`usage: npm run projections:rebuild -- <name>; the read models are ${bookingProjections.map((p) => p.collection).join(", ")}\n`);
  process.exit(2);
}
let config;
try {
  config = loadConfig();
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(2);
}
// A rebuild reads the events of a store that exists: a mistyped path would make an empty one and "rebuild" nothing.
const path = sqlitePathOf(config.DATABASE_URL);
if (path !== undefined && path !== ":memory:" && !existsSync(path)) {
  process.stderr.write(`DATABASE_URL names no database: ${path} does not exist\n`);
  process.exit(2);
}
const store = await openStore(config);
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());
try {
  await store.ready?.();
  const started = performance.now();
  const { position } = await rebuildProjection({ store, feed: createEventFeed(store), projection, projections: bookingProjections, signal: stop.signal });
  process.stdout.write(`${name} (version ${projection.version}) rebuilt up to position ${position} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await store.close();
}
