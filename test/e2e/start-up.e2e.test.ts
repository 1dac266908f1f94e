import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const ROOT = join(import.meta.dirname, "..", "..");
const run = promisify(execFile); // async: the port's holder lives in this process

/** Runs the service with `env` until it exits; its exit code, stdout and stderr. */
async function startService(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", join(ROOT, "src", "main.ts")], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: "file::memory:", LOG_LEVEL: "info", ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("start-up on a port that is taken", () => {
  const holder = net.createServer();
  let port = 0;

  before(async () => {
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    port = (holder.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  for (const variable of ["GRPC_PORT", "HTTP_PORT"] as const) {
    it(`${variable}: exits 1 with one fatal line naming the variable and the port, and no stack trace`, async () => {
      const other = variable === "GRPC_PORT" ? "HTTP_PORT" : "GRPC_PORT";
      const { code, stdout, stderr } = await startService({ [variable]: String(port), [other]: "0" });
      assert.equal(code, 1, stdout + stderr);
      assert.equal(stderr, "");
      const lines = stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      const fatal = lines.filter((l) => l.level === 60);
      assert.equal(fatal.length, 1, stdout);
      assert.equal(fatal[0].msg, `start-up failed: ${variable} ${port} on 127.0.0.1 is already in use (is another server running?); stop it or choose another port`);
      assert.deepEqual([fatal[0].reason, fatal[0].port, fatal[0].variable], ["EADDRINUSE", port, variable]);
      assert.doesNotMatch(stdout, /"stack"|\\n\s+at /);
    });
  }
});
