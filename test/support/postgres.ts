import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it, type TestContext } from "node:test";
import pg from "pg";

/** A PostgreSQL server for one test file, and a way to make empty databases on it. */
export interface TestPostgres {
  /** The URL of a new, empty database on the server, named after `name`. */
  database(name: string): Promise<string>;
  /** Stops the server (fast shutdown, clients cut off) and starts it again on the same port; absent for a server TEST_POSTGRES_URL names. */
  readonly outage?: { stop(): void; start(): void };
  stop(): Promise<void>;
}

/** A running server, or why there is none (the caller prints it and skips). */
export type PostgresOrReason = { readonly postgres: TestPostgres } | { readonly skip: string };

/**
 * Starts a throwaway PostgreSQL cluster (initdb, pg_ctl) in a temporary folder on a free
 * port, as the server binaries installed here allow, or uses the server TEST_POSTGRES_URL
 * names. Without either it says why, so the caller can skip with a reason; with
 * REQUIRE_POSTGRES=1 (CI sets it) it throws instead, so the tests cannot pass by skipping.
 */
export async function startTestPostgres(): Promise<PostgresOrReason> {
  const found = await findPostgres();
  if ("skip" in found && process.env.REQUIRE_POSTGRES === "1") throw new Error(`REQUIRE_POSTGRES=1, but ${found.skip}`);
  return found;
}

async function findPostgres(): Promise<PostgresOrReason> {
  const given = process.env.TEST_POSTGRES_URL;
  if (given) return { postgres: onServer(given, async () => {}) };
  const bin = serverBinaries();
  if (!bin) return { skip: "no PostgreSQL server binaries (initdb, pg_ctl) are installed and TEST_POSTGRES_URL is not set" };

  const dir = mkdtempSync(join(tmpdir(), "switchyard-pg-"));
  chmodSync(dir, 0o777); // initdb refuses root, so as root the cluster belongs to the postgres user
  const data = join(dir, "data");
  const port = await freePort();
  const run = (tool: string, args: string[]) => {
    const argv = [join(bin, tool), ...args];
    if (process.getuid?.() === 0) execFileSync("su", ["postgres", "-s", "/bin/sh", "-c", argv.map(quote).join(" ")], { stdio: "pipe" });
    else execFileSync(argv[0], argv.slice(1), { stdio: "pipe" });
  };
  // fsync stays on: the store's durability is what the tests exercise.
  const start = () => run("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`, "start"]);
  try {
    run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
    start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return { skip: `PostgreSQL did not start: ${stderr || (error as Error).message}` };
  }
  const stop = async () => {
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } catch {
      // already stopped (an outage a failed test did not end)
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const outage = { stop: () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]), start };
  return { postgres: { ...onServer(`postgres://postgres@127.0.0.1:${port}/postgres`, stop), outage } };
}

function onServer(adminUrl: string, stop: () => Promise<void>): TestPostgres {
  let made = 0;
  return {
    async database(name) {
      const database = `${name.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${process.pid}_${++made}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${database}`);
      } finally {
        await admin.end();
      }
      const url = new URL(adminUrl);
      url.pathname = `/${database}`;
      return url.toString();
    },
    stop,
  };
}

/** The folder holding initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin. */
function serverBinaries(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], "bin") : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * A test that runs against a throwaway PostgreSQL server of its own, stopped when the test
 * ends, or is skipped saying why there is none (startTestPostgres). The server starts inside
 * the test, so the test is registered at once: a top-level await between a file's tests would
 * let node:test run the file's `after` hooks while tests registered later still need what they undo.
 */
export function itOnPostgresServer(title: string, body: (postgres: TestPostgres, t: TestContext) => Promise<void>): void {
  it(title, async (t) => {
    const started = await startTestPostgres();
    if ("skip" in started) return t.skip(started.skip);
    t.after(() => started.postgres.stop());
    await body(started.postgres, t);
  });
}

/** itOnPostgresServer with one new database on the server, named after `database`. */
export function itOnPostgres(title: string, database: string, body: (url: string, t: TestContext) => Promise<void>): void {
  itOnPostgresServer(title, async (postgres, t) => body(await postgres.database(database), t));
}
