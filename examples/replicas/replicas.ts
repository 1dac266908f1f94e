// Starting the example's replicas: each one `src/main.ts` in its own process, as `npm start` runs it.
import { spawn } from "node:child_process";
import { join } from "node:path";

const MAIN = join(import.meta.dirname, "..", "..", "src", "main.ts");

/** A running replica and its two ports. */
export interface Replica {
  readonly name: string;
  /** host:port of its gRPC port. */
  readonly grpcAddress: string;
  /** host:port of its HTTP port (Connect, gRPC-Web, probes, the explorer page). */
  readonly httpAddress: string;
  /** Drains and stops it (SIGTERM), resolving once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a replica on `databaseUrl` with ports the system picks, and resolves once it logs
 * that it is listening (the line carries the ports).
 */
export function startReplica(name: string, databaseUrl: string): Promise<Replica> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: { ...process.env, DATABASE_URL: databaseUrl, GRPC_PORT: "0", HTTP_PORT: "0", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let output = "";
    let waiting = true;
    // The log is read to its end even after start-up, so a full pipe never holds the replica up.
    const onOutput = (chunk: Buffer) => {
      if (!waiting) return;
      output += chunk.toString();
      const line = output.split("\n").find((l) => l.includes('"msg":"switchyard listening"'));
      if (!line) return;
      waiting = false;
      const { host, grpcPort, httpPort } = JSON.parse(line) as { host: string; grpcPort: number; httpPort: number };
      resolve({
        name,
        grpcAddress: `${host}:${grpcPort}`,
        httpAddress: `${host}:${httpPort}`,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          return exited;
        },
      });
    };
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
    void exited.then(() => {
      if (waiting) reject(new Error(`${name} exited before it listened:\n${output}`));
    });
  });
}
