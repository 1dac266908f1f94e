// The request records' retention: records older than the window are deleted, oldest first,
// between batches; younger ones stay and are still answered; an id whose record is gone may
// be used again, as a new command.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import type { EventStore } from "../../src/store/event-store.js";
import { requestPruner } from "../../src/store/sqlite/request-pruner.js";
import { migrate } from "../../src/store/sqlite/schema.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload } from "../support/booking-app.js";
import { eventually } from "../support/eventually.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-retention-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A database with request records made at the given times, in this order. */
function requestsMadeAt(times: readonly string[]) {
  const db = new Database(":memory:");
  migrate(db);
  const insert = db.prepare(
    "INSERT INTO requests (tenant, request_id, command_type, aggregate_id, fingerprint, result, created_at) VALUES ('t', ?, 'c', 'a', 'f', '{}', ?)",
  );
  times.forEach((time, i) => insert.run(`r${i}`, time));
  const left = () => (db.prepare("SELECT request_id FROM requests ORDER BY seq").pluck().all() as string[]).join(" ");
  return { db, left };
}

/** Appends one event with a request record. */
const appendWithRequest = (store: EventStore, streamId: string, requestId: string) =>
  store.append({
    tenant: "t",
    streamId,
    expectedRevision: 0,
    events: [{ id: randomUUID(), type: "A", data: {}, metadata: { tenant: "t" } as never }],
    request: { requestId, commandType: "c", aggregateId: streamId, fingerprint: "f", result: { status: "accepted" } },
  });

describe("request retention: one prune", () => {
  it("deletes the records made before the cutoff, oldest first, and keeps the rest", () => {
    const { db, left } = requestsMadeAt(["2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z", "2026-01-01T00:00:03.000Z", "2026-01-01T00:00:04.000Z"]);
    const prune = requestPruner(db);
    assert.equal(prune("2026-01-01T00:00:03.000Z"), 2);
    assert.equal(left(), "r2 r3", "the record made at the cutoff itself is kept");
    assert.equal(prune("2026-01-01T00:00:03.000Z"), 0, "nothing more has expired");
    assert.equal(left(), "r2 r3");
  });

  it("deletes at most `limit` records per call", () => {
    const { db, left } = requestsMadeAt(Array.from({ length: 5 }, (_, i) => `2026-01-01T00:00:0${i}.000Z`));
    const prune = requestPruner(db);
    assert.equal(prune("2027-01-01T00:00:00.000Z", 2), 2);
    assert.equal(left(), "r2 r3 r4");
    assert.equal(prune("2027-01-01T00:00:00.000Z", 2), 2);
    assert.equal(prune("2027-01-01T00:00:00.000Z", 2), 1);
    assert.equal(left(), "");
  });

  it("stops at the first record still kept, even if an older-stamped one follows it (another process's clock)", () => {
    const { db, left } = requestsMadeAt(["2026-01-01T00:00:01.000Z", "2026-01-01T00:00:09.000Z", "2026-01-01T00:00:02.000Z"]);
    assert.equal(requestPruner(db)("2026-01-01T00:00:05.000Z"), 1);
    assert.equal(left(), "r1 r2", "r2 waits behind r1 and goes with it later");
  });
});

describe("request retention: the store", () => {
  for (const [where, path] of [["on the writer thread (a file)", () => join(dir, `${randomUUID()}.db`)], ["inline (:memory:)", () => ":memory:"]] as const) {
    it(`deletes expired records between batches and keeps the ones inside the window, ${where}`, async () => {
      const short = openSqliteStore({ path: path(), requestRetentionMs: 1000 });
      const long = openSqliteStore({ path: path(), requestRetentionMs: 60_000 });
      try {
        for (const store of [short, long]) assert.equal((await appendWithRequest(store, "s1", "req-1")).kind, "appended");
        assert.ok(await short.findRequest("t", "req-1"), "answered at first");
        assert.equal((await appendWithRequest(short, "s2", "req-1")).kind, "request-taken", "inside the window the id is taken");

        await eventually("the expired record's deletion", async () => (await short.findRequest("t", "req-1")) === undefined);
        assert.ok(await long.findRequest("t", "req-1"), "the record inside its window is still there after the same prunes");
        assert.equal((await appendWithRequest(short, "s2", "req-1")).kind, "appended", "after the window the id counts as new");
        assert.equal(await short.streamRevision("t", "s1"), 1, "pruning deleted the record, not the events");
      } finally {
        await Promise.all([short.close(), long.close()]);
      }
    });
  }

  it("says when pruning starts failing (another connection holds the write lock) and when it works again", async () => {
    const path = join(dir, `${randomUUID()}.db`);
    const heard: Array<string | undefined> = [];
    const store = openSqliteStore({ path, requestRetentionMs: 50, busyTimeoutMs: 100, onPruningFailure: (failure) => heard.push(failure) });
    const other = new Database(path);
    try {
      await appendWithRequest(store, "s1", "req-1");
      other.exec("BEGIN IMMEDIATE");
      await eventually("a failure report", async () => heard.length > 0);
      await sleep(1500); // more failing turns: told once
      assert.equal(heard.length, 1, `one report for the run of failures: ${JSON.stringify(heard)}`);
      assert.match(heard[0]!, /locked|busy/i);
      other.exec("ROLLBACK");
      await eventually("the recovery report", async () => heard.length > 1);
      assert.deepEqual(heard.slice(1), [undefined]);
      assert.equal(await store.findRequest("t", "req-1"), undefined, "the record went once the lock was free");
    } finally {
      if (other.inTransaction) other.exec("ROLLBACK");
      other.close();
      await store.close();
    }
  });

  it("keeps every record when no retention is given", async () => {
    const store = openSqliteStore({ path: join(dir, `${randomUUID()}.db`) });
    try {
      await appendWithRequest(store, "s1", "req-1");
      await sleep(1500); // past the first prune turn, had there been a pruner
      assert.ok(await store.findRequest("t", "req-1"));
    } finally {
      await store.close();
    }
  });
});

describe("request retention: a retry after the window", () => {
  it("runs as new when its record is deleted between the append's check and the look-up of the stored answer", async () => {
    const inner = openSqliteStore({ path: ":memory:" });
    let taken = 1; // the first append finds the id taken, as if its record were deleted just after
    const store: EventStore = {
      ...inner,
      append: (request) => (request.request && taken-- > 0 ? Promise.resolve({ kind: "request-taken" }) : inner.append(request)),
      close: () => inner.close(),
    };
    const app = bookingApp({ store });
    try {
      const result = await app.commands.bookRoom(bookRoomPayload("B-1"), { requestId: "book-B-1" });
      assert.equal(result.status, "accepted", `a retry of the append, not ${result.status}`);
      assert.equal(await inner.streamRevision("default", "booking-B-1"), 1, "written once");
    } finally {
      await app.close();
    }
  });

  it("is executed as a new command, and the domain's own rules still refuse a second booking", async () => {
    const app = bookingApp({ store: openSqliteStore({ path: ":memory:", requestRetentionMs: 1000 }) });
    try {
      const first = await app.commands.bookRoom(bookRoomPayload("B-1"), { requestId: "book-B-1" });
      assert.equal(first.status, "accepted");
      const retry = await app.commands.bookRoom(bookRoomPayload("B-1"), { requestId: "book-B-1" });
      assert.equal(retry.status, "accepted");
      assert.equal(retry.replayed, true, "inside the window the first answer comes back");

      await eventually("the record's deletion", async () => (await app.store.findRequest("default", "book-B-1")) === undefined);
      const late = await app.commands.bookRoom(bookRoomPayload("B-1"), { requestId: "book-B-1" });
      assert.equal(late.status, "already_exists", "executed again: the booking's stream already exists");
      assert.equal(late.replayed, false);
    } finally {
      await app.close();
    }
  });
});
