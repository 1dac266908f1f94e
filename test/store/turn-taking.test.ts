// The writer's turn-taking: gaps at the write lock only while another connection writes too,
// and a wait for the lock that polls finely enough to take another writer's gaps.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import Database from "better-sqlite3";
import { migrate, useStoreSettings } from "../../src/store/sqlite/schema.js";
import { turnTaking, whileBusy } from "../../src/store/sqlite/turn-taking.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-turns-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two connections to one new, migrated file for `use`, closed after it. */
function withTwoConnections(name: string, use: (mine: Database.Database, other: Database.Database) => void): void {
  const path = join(dir, name);
  const [mine, other] = [new Database(path), new Database(path)];
  try {
    for (const db of [mine, other]) useStoreSettings(db, "NORMAL");
    migrate(mine);
    use(mine, other);
  } finally {
    mine.close();
    other.close();
  }
}

it("leaves gaps at the write lock, a few a second, only while another connection commits too", () => {
  withTwoConnections("turns.db", (mine, other) => {
    let now = 0;
    const pauses: number[] = [];
    const beforeBatch = turnTaking(mine, () => now, (ms) => pauses.push(ms));
    const commitHere = () => mine.exec("INSERT INTO schema_version (version) VALUES (0)");
    const commitThere = () => other.exec("INSERT INTO schema_version (version) VALUES (0)");

    for (let i = 0; i < 50; i++, now += 5) {
      beforeBatch();
      commitHere();
    }
    assert.deepEqual(pauses, [], "alone on the file: no gaps");

    commitThere();
    for (let i = 0; i < 20; i++, now += 5) {
      beforeBatch();
      commitHere();
    }
    assert.deepEqual(pauses, [2, 2, 2, 2, 2], "after another connection committed: a 2 ms gap every 20 ms (100 ms of batches)");

    now += 1000;
    for (let i = 0; i < 20; i++, now += 5) beforeBatch();
    assert.equal(pauses.length, 5, "a second with no commit but its own: no more gaps");
  });
});

it("waits for a busy write lock by trying BEGIN again every millisecond, up to its timeout", () => {
  withTwoConnections("poll.db", (mine, other) => {
    mine.pragma("busy_timeout = 0");
    let now = 0;
    const pauses: number[] = [];
    const lock = whileBusy(10, () => now, (ms) => {
      pauses.push(ms);
      now += ms;
      if (now === 4) other.exec("COMMIT"); // the other writer lets go after 4 ms
    });
    const write = () => mine.transaction(() => mine.exec("INSERT INTO schema_version (version) VALUES (0)")).immediate();

    other.exec("BEGIN IMMEDIATE");
    lock(write);
    assert.deepEqual(pauses, [1, 1, 1, 1], "tried again every 1 ms until the lock was free");

    other.exec("BEGIN IMMEDIATE");
    pauses.length = 0;
    assert.throws(() => lock(write), { code: "SQLITE_BUSY" }, "still busy after the timeout: SQLite's own error");
    assert.equal(pauses.length, 10);
    other.exec("ROLLBACK");

    pauses.length = 0;
    assert.throws(() => lock(() => mine.exec("INSERT INTO no_such_table VALUES (1)")), /no such table/);
    assert.deepEqual(pauses, [], "any other failure is not waited on");
  });
});
