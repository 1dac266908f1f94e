import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload } from "../support/booking-app.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "switchyard-rebuild-script-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const script = join(import.meta.dirname, "..", "..", "scripts", "rebuild-projection.ts");
const rebuild = (name: string, path: string) =>
  run(process.execPath, ["--import", "tsx", script, name], { env: { ...process.env, DATABASE_URL: `file:${path}` }, timeout: 60_000 }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe("npm run projections:rebuild", () => {
  it("rebuilds a read model of a store's events and says up to which position", async () => {
    const path = join(dir, "store.db");
    const app = bookingApp({ store: openSqliteStore({ path }) });
    await app.commands.bookRoom(bookRoomPayload("R1"));
    await app.close();
    const { code, stdout, stderr } = await rebuild("bookings", path);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^bookings \(version \d+\) rebuilt up to position 2 /);
  });

  it("refuses a database that does not exist, exit 2, and creates nothing", async () => {
    const path = join(dir, "typo", "store.db");
    const { code, stderr } = await rebuild("bookings", path);
    assert.equal(code, 2);
    assert.match(stderr, /names no database: .*typo.*store\.db does not exist/);
    assert.equal(existsSync(join(dir, "typo")), false);
  });
});
