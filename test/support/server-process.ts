import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

/** A real Switchyard process on ephemeral ports. */
export interface ServerProcess {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly grpcAddress: string;
  readonly httpUrl: string;
  readonly databasePath: string;
  readonly child: ChildProcess;
  /** Every JSON log line so far. */
  readonly logs: Array<Record<string, unknown>>;
  /** What the process wrote to stderr so far (an uncaught error's stack). */
  readonly stderr: string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops the process (if running) and deletes its temporary directory. */
  dispose(): Promise<void>;
}

/**
 * Starts `src/main.ts` in its own process with a fresh database file (or the one given) and
 * waits for its "listening" log line, which carries the bound ports.
 */
export async function startServerProcess(env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
  const databasePath = env.DATABASE_URL?.startsWith("file:") ? env.DATABASE_URL.slice(5) : join(dir, "switchyard.db");
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "main.ts")], {
    cwd: ROOT,
    env: { ...process.env, GRPC_PORT: "0", HTTP_PORT: "0", LOG_LEVEL: "info", DATABASE_URL: `file:${databasePath}`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === "switchyard listening") resolve(entry);
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening: ${stderr}${JSON.stringify(logs)}`)));
    setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs).unref();
  });
  let started: Record<string, unknown>;
  try {
    started = await listening;
  } catch (error) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const grpcPort = Number(started.grpcPort);
  const httpPort = Number(started.httpPort);
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    grpcPort,
    httpPort,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    databasePath,
    child,
    logs,
    get stderr() {
      return stderr;
    },
    stop,
    async dispose() {
      await stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
