import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import pino from "pino";
import { linesPerTurn } from "../../src/logger.js";

describe("the service's log output", () => {
  it("writes the lines of one event-loop turn as one write, in order, and the next turn's as another", async () => {
    const writes: string[] = [];
    const logger = pino({ base: undefined, timestamp: false }, linesPerTurn({ write: (text: string) => writes.push(text) }));
    logger.info("one");
    logger.info("two");
    assert.deepEqual(writes, [], "nothing is written before the turn ends");
    await new Promise((resolve) => setImmediate(resolve));
    logger.warn("three");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      writes.map((text: string) => text.trimEnd().split("\n").map((line: string) => (JSON.parse(line) as { msg: string }).msg)),
      [["one", "two"], ["three"]],
    );
  });

  it("writes the lines still gathered when the process exits (a crash's last lines are kept)", () => {
    const script = [
      `import { createLogger } from ${JSON.stringify(new URL("../../src/logger.ts", import.meta.url).href)};`,
      "const logger = createLogger('info');",
      "logger.info('first');",
      "logger.fatal('last words');",
      "process.exit(3);",
    ].join("\n");
    // Run from the project's root, where `--import tsx` resolves, wherever the tests were started.
    const root = new URL("../..", import.meta.url);
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: root });
    assert.equal(child.status, 3, child.stderr);
    const messages = child.stdout.trimEnd().split("\n").map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.deepEqual(messages, ["first", "last words"]);
  });
});
