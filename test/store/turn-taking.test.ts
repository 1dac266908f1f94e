// The writer's turn-taking: gaps at the write lock only while another connection writes too.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import Database from "better-sqlite3";
import { migrate, useStoreSettings } from "../../src/store/sqlite/schema.js";
import { turnTaking } from "../../src/store/sqlite/turn-taking.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-turns-"));
after(() => rmSync(dir, { recursive: true, force: true }));

it("leaves gaps at the write lock, a few a second, only while another connection commits too", () => {
  const path = join(dir, "turns.db");
  const [mine, other] = [new Database(path), new Database(path)];
  try {
    for (const db of [mine, other]) useStoreSettings(db, "NORMAL");
    migrate(mine);
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
  } finally {
    mine.close();
    other.close();
  }
});
