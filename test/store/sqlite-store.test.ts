import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { eventStoreContract } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));

eventStoreContract("SQLite file, synchronous=FULL", () => openSqliteStore({ path: join(dir, "events.db") }));
eventStoreContract("SQLite :memory:", () => openSqliteStore({ path: ":memory:" }));

describe("SQLite store: the writer", () => {
  const event = () => [{ id: randomUUID(), type: "A", data: {}, metadata: { tenant: "t" } as never }];

  for (const [where, path] of [["on its thread (a file)", () => join(dir, `hook-${randomUUID()}.db`)], ["inline (:memory:)", () => ":memory:"]] as const) {
    it(`rolls a batch back when the beforeCommit hook throws, ${where}`, async () => {
      let calls = 0;
      const store = openSqliteStore({
        path: path(),
        beforeCommit: () => {
          if (calls++ === 0) throw new Error("hook failed");
        },
      });
      try {
        await assert.rejects(store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event() }));
        assert.equal(await store.streamRevision("t", "s"), 0, "nothing of the failed batch was kept");
        const next = await store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event() });
        assert.equal(next.kind, "appended");
      } finally {
        await store.close();
      }
    });
  }

  it("waits for another connection's write lock off this thread: its timers keep firing, then the append lands", async () => {
    const path = join(dir, `lock-${randomUUID()}.db`);
    const store = openSqliteStore({ path });
    const other = new Database(path);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      await store.append({ tenant: "t", streamId: "warm", expectedRevision: 0, events: event() });
      other.exec("BEGIN IMMEDIATE");
      const appended = store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event() });
      const before = ticks;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const whileLocked = ticks - before;
      other.exec("COMMIT");
      assert.equal((await appended).kind, "appended");
      assert.ok(whileLocked >= 20, `timers fired ${whileLocked} times in 300 ms while the writer waited for the lock`);
    } finally {
      clearInterval(timer);
      other.close();
      await store.close();
    }
  });

  for (const [maxBatchesOut, expected] of [[1, [1, 3]], [2, [1, 1, 2]]] as const) {
    it(`keeps at most ${maxBatchesOut} batch(es) out at the writer; later appends wait and share the next transaction`, async () => {
      const path = join(dir, `out-${randomUUID()}.db`);
      const batches: number[] = [];
      const store = openSqliteStore({ path, maxBatchesOut, beforeCommit: (n) => batches.push(n) });
      const other = new Database(path);
      const nextTick = () => new Promise((resolve) => setImmediate(resolve));
      const append = (streamId: string) => store.append({ tenant: "t", streamId, expectedRevision: 0, events: event() });
      try {
        await append("warm");
        batches.length = 0;
        // Another connection holds the write lock, so the first batch stays out at the writer
        // (waiting for the lock) while the later appends arrive, each group on a tick of its own.
        other.exec("BEGIN IMMEDIATE");
        const appended = [append("a")];
        await nextTick();
        appended.push(append("b"));
        await nextTick();
        appended.push(append("c"), append("d"));
        await nextTick();
        other.exec("COMMIT");
        for (const outcome of await Promise.all(appended)) assert.equal(outcome.kind, "appended");
        assert.deepEqual(batches, expected, "the sizes of the batches committed, in order");
      } finally {
        other.close();
        await store.close();
      }
    });
  }
});
