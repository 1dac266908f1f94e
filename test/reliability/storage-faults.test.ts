// Bad storage: a corrupt file, an unreadable file, a read-only file or directory, a full
// disk. Each must end in a clear start-up error (non-zero exit, the store's reason in the
// fatal log line) or UNAVAILABLE per call; never INTERNAL, never a crash, and never a change
// to the file's bytes. After a full disk clears, everything acknowledged before is intact.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import {
  auditCommands,
  auditStore,
  bookCommand,
  clientsFor,
  launch,
  pool,
  readDatabase,
  sendTracked,
  sha256,
  startOrExit,
  startupFailure,
  type Launched,
  type Tracked,
} from "../fixtures/reliability-harness.js";
import type { GrpcFailure } from "../support/grpc-client.js";
import { reliabilityRow } from "../support/reliability.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-storage-"));
chmodSync(dir, 0o755); // a server run as another user must reach the files below
const running: Launched[] = [];
const mounts: string[] = [];
after(async () => {
  await Promise.all(running.map((s) => s.kill("SIGKILL")));
  for (const m of mounts) {
    try {
      execFileSync("umount", [m]);
    } catch {
      execFileSync("umount", ["-l", m]);
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const BOOKINGS = 200;
let goodDatabase = "";
let seeded: Tracked[] = [];

/** A healthy database with BOOKINGS bookings, closed cleanly (everything in the main file, no WAL). */
before(async () => {
  goodDatabase = join(dir, "good.db");
  const server = launch({ DATABASE_URL: `file:${goodDatabase}` });
  running.push(server);
  const clients = clientsFor((await server.listening).grpcAddress);
  seeded = Array.from({ length: BOOKINGS }, (_, i) => bookCommand(`good-${i}`, 10_000));
  await pool(seeded, 16, (c) => sendTracked(clients, c));
  clients.close();
  assert.equal(await server.kill("SIGTERM"), 0);
  assert.equal(seeded.filter((c) => c.ack).length, BOOKINGS);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith("good.db-")), [], "closed cleanly: no WAL left");
});

/** A fresh directory (mode 755) holding a copy of the healthy database. */
function copyOfGood(name: string): { folder: string; path: string } {
  const folder = join(dir, name);
  mkdirSync(folder, { mode: 0o755 });
  const path = join(folder, "switchyard.db");
  copyFileSync(goodDatabase, path);
  return { folder, path };
}

/** Starts a server that must refuse to start: non-zero exit, the expected reason, the file untouched. Twice, as a supervisor would. */
async function refusesToStart(t: TestContext, path: string, reasons: readonly string[], options: { uid?: number } = {}): Promise<string[]> {
  const problems: string[] = [];
  const bytes = statSync(path).isFile() ? sha256(path) : undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const server = launch({ DATABASE_URL: `file:${path}` }, options);
    running.push(server);
    const outcome = await startOrExit(server);
    if (outcome.listening) {
      problems.push(`attempt ${attempt}: the server started`);
      await server.kill("SIGKILL");
      continue;
    }
    const fatal = startupFailure(server);
    t.diagnostic(`attempt ${attempt}: exit ${outcome.code}, ${fatal?.reason}: ${fatal?.msg}`);
    if (outcome.code === 0 || typeof outcome.code !== "number") problems.push(`attempt ${attempt}: exit ${outcome.code}`);
    if (!fatal || !reasons.includes(fatal.reason ?? "")) problems.push(`attempt ${attempt}: start-up error ${JSON.stringify(fatal)} does not name ${reasons.join(" or ")}`);
    if (!fatal?.msg.includes(path)) problems.push(`attempt ${attempt}: start-up error does not name the file`);
    if (bytes !== undefined && sha256(path) !== bytes) problems.push(`attempt ${attempt}: the file's bytes changed`);
  }
  return problems;
}

/** Overwrites pages (1-based, inclusive) of a database file with random bytes. */
function overwritePages(path: string, first: number, last: number, pageSize: number): void {
  const fd = openSync(path, "r+");
  try {
    for (let p = first; p <= last; p++) writeSync(fd, randomBytes(pageSize), 0, pageSize, (p - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

function layoutOf(path: string): { pageSize: number; pageCount: number; roots: Map<string, number> } {
  const db = new Database(path, { readonly: true });
  try {
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    const pageCount = db.pragma("page_count", { simple: true }) as number;
    const roots = new Map((db.prepare("SELECT name, rootpage FROM sqlite_schema").all() as Array<{ name: string; rootpage: number }>).map((r) => [r.name, r.rootpage]));
    return { pageSize, pageCount, roots };
  } finally {
    db.close();
  }
}

/** What a call ended with: OK, or the gRPC code and ErrorInfo reason. */
async function outcomeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (error) {
    const failure = error as GrpcFailure;
    if (failure.code === undefined) throw error;
    return `${grpc.status[failure.code]} ${failure.errorInfo?.reason ?? ""} ${failure.message}`;
  }
}

/** Whether this process can run the server as `nobody`, so file permissions bite even for root. */
async function canRunAsNobody(): Promise<boolean> {
  const folder = join(dir, "probe");
  mkdirSync(folder, { mode: 0o777 });
  chmodSync(folder, 0o777);
  const server = launch({ DATABASE_URL: `file:${join(folder, "probe.db")}` }, { uid: 65534, gid: 65534 });
  running.push(server);
  const outcome = await startOrExit(server).catch(() => ({ listening: false }));
  await server.kill("SIGKILL");
  return outcome.listening;
}

describe("bad storage", () => {
  it("a file of random bytes: start-up fails naming STORE_CORRUPT, twice, and the bytes stay as they were", async (t) => {
    const path = join(dir, "random.db");
    writeFileSync(path, randomBytes(256 * 1024));
    const problems = await refusesToStart(t, path, ["STORE_CORRUPT"]);
    t.diagnostic(reliabilityRow({ scenario: "storage: corrupt file (random bytes)", callsTried: 2, failures: problems.length, dataLost: 0, note: "2 starts: exit 1, STORE_CORRUPT, file unchanged" }));
    assert.deepEqual(problems, []);
  });

  it("a valid database with pages overwritten: start-up fails, or every call touching them is UNAVAILABLE; never INTERNAL, bytes unchanged", async (t) => {
    const problems: string[] = [];
    let calls = 0;
    const layout = layoutOf(goodDatabase);
    assert.ok(layout.pageCount > 20, `the database has pages to overwrite (${layout.pageCount})`);
    assert.equal(layout.roots.get("schema_version"), 2, "schema_version is the first table (page 2)");

    // Every page but the first (the schema): the schema_version table goes too, so start-up fails.
    const schemaGone = copyOfGood("pages-all");
    overwritePages(schemaGone.path, 2, layout.pageCount, layout.pageSize);
    problems.push(...(await refusesToStart(t, schemaGone.path, ["STORE_CORRUPT"])).map((p) => `all pages: ${p}`));
    calls += 2;

    // Table pages only (schema and schema_version intact): the server starts, and every read
    // and write meets the damage: UNAVAILABLE naming the corruption, not INTERNAL.
    // Then a range in the middle: some reads find healthy pages, the others UNAVAILABLE.
    for (const [name, first, last] of [
      ["table pages", layout.roots.get("schema_version")! + 1, layout.pageCount],
      ["middle pages", Math.floor(layout.pageCount * 0.4), Math.floor(layout.pageCount * 0.6)],
    ] as const) {
      const copy = copyOfGood(name.replace(" ", "-"));
      overwritePages(copy.path, first, last, layout.pageSize);
      const bytes = sha256(copy.path);
      const server = launch({ DATABASE_URL: `file:${copy.path}` });
      running.push(server);
      const started = await startOrExit(server);
      calls++;
      if (!started.listening) {
        const fatal = startupFailure(server);
        if (fatal?.reason !== "STORE_CORRUPT") problems.push(`${name}: start-up failed without STORE_CORRUPT: ${JSON.stringify(fatal)}`);
      } else {
        const clients = clientsFor(started.grpcAddress);
        const outcomes: string[] = [];
        for (const c of seeded) {
          const read = clients.booking.getBooking({ bookingId: c.bookingId }, { deadlineMs: 10_000 });
          // A read that succeeds must show the booking as it was written, not garbage.
          const shown = await read.then((v) => (v.bookingId === c.bookingId && v.price === "100.00" && v.status === "booked" ? "OK" : `WRONG ${JSON.stringify(v.price)}`), () => "");
          outcomes.push(shown || (await outcomeOf(read)));
        }
        outcomes.push(await outcomeOf(clients.events.readAll({ maxCount: 10_000 }, { deadlineMs: 10_000 })));
        if (name === "table pages") {
          for (const c of [bookCommand("after-damage", 10_000), ...seeded.slice(0, 5).map((s) => ({ ...s, requestId: `again-${s.requestId}`, ack: undefined, failure: undefined }))]) {
            await sendTracked(clients, c, 10_000);
            outcomes.push(c.ack ? "OK" : `${grpc.status[c.failure!.code]} ${c.failure!.errorInfo?.reason} ${c.failure!.message}`);
          }
        }
        clients.close();
        calls += outcomes.length;
        const tally = new Map<string, number>();
        for (const o of outcomes) tally.set(o.split(" ").slice(0, 2).join(" "), (tally.get(o.split(" ").slice(0, 2).join(" ")) ?? 0) + 1);
        t.diagnostic(`${name} (pages ${first}–${last} of ${layout.pageCount}): ${JSON.stringify([...tally])}`);
        const bad = outcomes.filter((o) => o !== "OK" && !(o.startsWith("UNAVAILABLE STORE_UNAVAILABLE") && /corrupt|malformed/.test(o)));
        problems.push(...bad.slice(0, 5).map((o) => `${name}: ${o}`));
        if (name === "table pages" && outcomes.includes("OK")) problems.push(`${name}: a call succeeded on a store with every table page destroyed`);
        if (!outcomes.some((o) => o.startsWith("UNAVAILABLE"))) problems.push(`${name}: no call met the damage`);
        if (server.child.exitCode !== null) problems.push(`${name}: the server died`);
        const code = await server.kill("SIGTERM");
        if (code !== 0) problems.push(`${name}: exit ${code} on SIGTERM`);
      }
      if (sha256(copy.path) !== bytes) problems.push(`${name}: the file's bytes changed`);
    }
    t.diagnostic(
      reliabilityRow({
        scenario: "storage: corrupt file (pages overwritten)",
        callsTried: calls,
        failures: problems.length,
        dataLost: 0,
        note: "all pages: start-up STORE_CORRUPT; table/middle pages: UNAVAILABLE per damaged call, never INTERNAL; file unchanged",
      }),
    );
    assert.deepEqual(problems, []);
  });

  describe("permissions", () => {
    // Root ignores file modes, so as root the server runs as `nobody` to make them bite.
    let asUser: { uid?: number } | undefined;
    let skipReason: string | undefined;
    before(async () => {
      if (process.getuid?.() !== 0) asUser = {};
      else if (await canRunAsNobody()) asUser = { uid: 65534 };
      else skipReason = "running as root and the server cannot be started as nobody (uid 65534), so file modes do not bite";
    });

    it("an unreadable file (mode 000), and a directory where the file should be: start-up fails naming STORE_CANNOT_OPEN", async (t) => {
      const problems: string[] = [];
      // A directory in place of the file: no permissions involved, works for any user.
      const folder = join(dir, "a-directory.db");
      mkdirSync(folder);
      problems.push(...(await refusesToStart(t, folder, ["STORE_CANNOT_OPEN"])).map((p) => `directory: ${p}`));
      let note = "path is a directory: STORE_CANNOT_OPEN";
      if (asUser) {
        const { path } = copyOfGood("unreadable");
        chmodSync(path, 0o000);
        problems.push(...(await refusesToStart(t, path, ["STORE_CANNOT_OPEN"], asUser)).map((p) => `mode 000: ${p}`));
        note += `; mode 000${asUser.uid !== undefined ? " (server as nobody)" : ""}: STORE_CANNOT_OPEN, file unchanged`;
      } else {
        t.diagnostic(`mode 000 part skipped: ${skipReason}`);
        note += `; mode 000 skipped: ${skipReason}`;
      }
      t.diagnostic(reliabilityRow({ scenario: "storage: unreadable file", callsTried: asUser ? 4 : 2, failures: problems.length, dataLost: 0, note }));
      assert.deepEqual(problems, []);
    });

    it("a read-only file (mode 444) and a read-only directory: start-up fails naming STORE_READ_ONLY, bytes unchanged", async (t) => {
      if (!asUser) {
        t.diagnostic(reliabilityRow({ scenario: "storage: read-only file / directory", callsTried: 0, failures: 0, dataLost: 0, note: `skipped: ${skipReason}` }));
        t.skip(skipReason);
        return;
      }
      const problems: string[] = [];
      const readOnlyFile = copyOfGood("read-only-file");
      chmodSync(readOnlyFile.path, 0o444);
      problems.push(...(await refusesToStart(t, readOnlyFile.path, ["STORE_READ_ONLY"], asUser)).map((p) => `file 444: ${p}`));

      // The file is writable, but the directory is not: SQLite cannot create the WAL beside it.
      const readOnlyDir = copyOfGood("read-only-dir");
      if (asUser.uid !== undefined) chownSync(readOnlyDir.path, asUser.uid, asUser.uid);
      chmodSync(readOnlyDir.path, 0o644);
      chmodSync(readOnlyDir.folder, 0o555);
      problems.push(...(await refusesToStart(t, readOnlyDir.path, ["STORE_READ_ONLY", "STORE_CANNOT_OPEN"], asUser)).map((p) => `directory 555: ${p}`));
      chmodSync(readOnlyDir.folder, 0o755);
      t.diagnostic(
        reliabilityRow({
          scenario: "storage: read-only file / directory",
          callsTried: 4,
          failures: problems.length,
          dataLost: 0,
          note: `file 444 and directory 555${asUser.uid !== undefined ? " (server as nobody)" : ""}: STORE_READ_ONLY, file unchanged`,
        }),
      );
      assert.deepEqual(problems, []);
    });
  });

  it("a full disk: writes UNAVAILABLE (nothing half-written), reads and the process carry on; once space is back, everything acknowledged is intact", async (t) => {
    const mnt = join(dir, "small-disk");
    mkdirSync(mnt);
    let how: "tmpfs" | "fsize";
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", mnt], { stdio: "pipe" });
      mounts.push(mnt);
      how = "tmpfs";
    } catch (error) {
      // No mount here: limit the size of files the server may write instead (RLIMIT_FSIZE;
      // Node ignores SIGXFSZ, so the write fails with EFBIG rather than killing the process).
      try {
        execFileSync("prlimit", ["--fsize=1000000", "--", "true"], { stdio: "pipe" });
        how = "fsize";
        t.diagnostic(`cannot mount a tmpfs (${String((error as Error).message).split("\n")[0]}); using prlimit --fsize`);
      } catch {
        const reason = "neither mount (tmpfs) nor prlimit (RLIMIT_FSIZE) is available";
        t.diagnostic(reliabilityRow({ scenario: "storage: disk full", callsTried: 0, failures: 0, dataLost: 0, note: `skipped: ${reason}` }));
        t.skip(reason);
        return;
      }
    }
    const path = join(mnt, "switchyard.db");
    const env = { DATABASE_URL: `file:${path}` };
    const problems: string[] = [];
    const all: Tracked[] = [];

    let server = launch(env, how === "fsize" ? { wrapper: ["prlimit", "--fsize=600000", "--"] } : {});
    running.push(server);
    let clients = clientsFor((await server.listening).grpcAddress);
    const early = Array.from({ length: 40 }, (_, i) => bookCommand(`early-${i}`, 10_000));
    await pool(early, 8, (c) => sendTracked(clients, c));
    all.push(...early);
    assert.equal(early.filter((c) => c.ack).length, early.length, "bookings before the disk filled were acknowledged");

    // Fill the disk (tmpfs: a ballast file leaving 64 KiB; fsize: the WAL reaches the limit).
    const ballast = join(mnt, "ballast");
    if (how === "tmpfs") {
      const fs = statfsSync(mnt);
      writeFileSync(ballast, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 64 * 1024)));
    }
    const during = Array.from({ length: 300 }, (_, i) => bookCommand(`during-${i}`, 10_000));
    await pool(during, 8, (c) => sendTracked(clients, c));
    all.push(...during);
    const refused = during.filter((c) => !c.ack);
    const wrong = refused.filter((c) => !(c.failure!.code === grpc.status.UNAVAILABLE && c.failure!.errorInfo?.reason === "STORE_UNAVAILABLE" && /full|I\/O/.test(c.failure!.message)));
    problems.push(...wrong.slice(0, 5).map((c) => `${c.requestId}: ${grpc.status[c.failure!.code]} ${c.failure!.message}`));
    if (refused.length < during.length / 2) problems.push(`only ${refused.length} of ${during.length} writes were refused: the disk did not fill`);
    // Reads still work, and the process is alive.
    const reads = await Promise.all(early.slice(0, 10).map((c) => outcomeOf(clients.booking.getBooking({ bookingId: c.bookingId }, { deadlineMs: 10_000 }))));
    problems.push(...reads.filter((o) => o !== "OK").map((o) => `read while full: ${o}`));
    if (server.child.exitCode !== null) problems.push("the server died while the disk was full");
    const stillFull = readDatabase(path);
    problems.push(...auditStore(stillFull).map((p) => `while full: ${p}`));
    for (const c of refused) if (stillFull.requests.has(c.requestId)) problems.push(`${c.requestId}: refused but recorded`);

    // Space comes back: tmpfs — delete the ballast, same process; fsize — SIGTERM while
    // full (the close cannot checkpoint) and restart without the limit.
    let exitWhileFull: number | string | undefined;
    if (how === "tmpfs") rmSync(ballast);
    else {
      clients.close();
      exitWhileFull = await server.kill("SIGTERM");
      if (exitWhileFull !== 0) problems.push(`SIGTERM while full: exit ${exitWhileFull}`);
      server = launch(env);
      running.push(server);
      clients = clientsFor((await server.listening).grpcAddress);
    }
    // The refused commands wrote nothing: retried with their request ids they are applied now.
    const retried: Tracked[] = refused.map((c) => ({ ...c, ack: undefined, failure: undefined }));
    await pool(retried, 8, (c) => sendTracked(clients, c));
    for (const c of retried) {
      if (!c.ack) problems.push(`${c.requestId}: retry after space came back failed: ${c.failure?.message}`);
      else if (c.ack.replayed) problems.push(`${c.requestId}: refused while full, yet replayed on retry`);
    }
    clients.close();
    const exit = await server.kill("SIGTERM");
    if (exit !== 0) problems.push(`SIGTERM after recovery: exit ${exit}`);

    // Restart: every acknowledged command, before, during and after, is there exactly once.
    server = launch(env);
    running.push(server);
    await server.listening;
    const stored = readDatabase(path);
    const tracked = [...early, ...during.filter((c) => c.ack), ...retried];
    problems.push(...auditStore(stored));
    const audit = auditCommands(stored, tracked);
    problems.push(...audit.problems);
    if (stored.requests.size !== early.length + during.length) problems.push(`${stored.requests.size} commands stored, expected ${early.length + during.length}`);
    await server.kill("SIGTERM");

    t.diagnostic(
      reliabilityRow({
        scenario: `storage: disk full (${how === "tmpfs" ? "16 MiB tmpfs" : "prlimit --fsize"})`,
        callsTried: early.length + during.length + reads.length + retried.length,
        failures: problems.length,
        dataLost: audit.lost,
        note: `${during.length - refused.length} written before full, ${refused.length} refused UNAVAILABLE (${refused[0]?.failure?.message.split(":")[0] ?? "-"}); after space came back all applied once, acknowledged intact`,
      }),
    );
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problem(s)`);
    assert.equal(audit.lost, 0);
  });
});
