import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import type { Worker } from "node:worker_threads";
import { StoreUnavailableError, type Availability } from "../../src/store/event-store.js";
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

  it("is ready once its writer thread has opened the file, and says so when the thread stops before that", async () => {
    const store = openSqliteStore({ path: join(dir, `ready-${randomUUID()}.db`) });
    await store.ready!();
    assert.equal((await store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event() })).kind, "appended");
    await store.close();

    const doomed = openSqliteStore({ path: join(dir, `ready-${randomUUID()}.db`), onWriterThread: (thread) => void thread.terminate() });
    await assert.rejects(doomed.ready!(), (error: unknown) => error instanceof StoreUnavailableError && error.reason === "STORE_WRITER_FAILED");
    await doomed.close();
  });

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
      // A blocked loop fires 0 or 1 times; a starved but free one still fires a few.
      assert.ok(whileLocked >= 5, `timers fired ${whileLocked} times in 300 ms while the writer waited for the lock`);
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

describe("SQLite store: a writer thread that stops", () => {
  const event = () => [{ id: randomUUID(), type: "A", data: {}, metadata: { tenant: "t" } as never }];

  it("is replaced: appends fail fast with STORE_WRITER_FAILED meanwhile, listeners hear both changes, and later appends land", { timeout: 10_000 }, async () => {
    const threads: Worker[] = [];
    const store = openSqliteStore({ path: join(dir, `restart-${randomUUID()}.db`), onWriterThread: (thread) => threads.push(thread) });
    const changes: Availability[] = [];
    const back = new Promise<void>((resolve) =>
      store.watchAvailability!((change) => {
        changes.push(change);
        if (change.available) resolve();
      }),
    );
    try {
      assert.equal((await store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event() })).kind, "appended");
      await threads[0].terminate();
      await assert.rejects(store.append({ tenant: "t", streamId: "s", expectedRevision: 1, events: event() }), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.equal(error.reason, "STORE_WRITER_FAILED");
        assert.match(error.message, /restarted/);
        return true;
      });
      // The store's restart timer does not keep a process alive; this one does, for 9 s at most.
      const keepAlive = setTimeout(() => undefined, 9000);
      await back;
      clearTimeout(keepAlive);
      assert.equal(threads.length, 2, "a second writer thread was started");
      assert.deepEqual(
        changes.map((c) => c.available),
        [false, true],
      );
      assert.match(changes[0].reason ?? "", /exited with code/);
      assert.equal((await store.append({ tenant: "t", streamId: "s", expectedRevision: 1, events: event() })).kind, "appended");
      assert.equal(await store.streamRevision("t", "s"), 2, "only the appends that were acknowledged are in the stream");
    } finally {
      await store.close();
    }
  });

  it("fails the appends out at it as possibly committed, and never leaves one waiting", { timeout: 10_000 }, async () => {
    const threads: Worker[] = [];
    const path = join(dir, `inflight-${randomUUID()}.db`);
    const store = openSqliteStore({ path, onWriterThread: (thread) => threads.push(thread) });
    const other = new Database(path);
    try {
      await store.append({ tenant: "t", streamId: "warm", expectedRevision: 0, events: event() });
      // The writer waits for another connection's lock, so the append is out at it when it stops.
      other.exec("BEGIN IMMEDIATE");
      const out = store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event() });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stopped = threads[0].terminate();
      other.exec("COMMIT");
      await stopped;
      await assert.rejects(out, (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.equal(error.reason, "STORE_WRITER_FAILED");
        assert.match(error.message, /may or may not have been committed; retry with the same request id/);
        return true;
      });
    } finally {
      other.close();
      await store.close();
    }
  });

  it("closes while it waits to be replaced", { timeout: 10_000 }, async () => {
    const threads: Worker[] = [];
    const store = openSqliteStore({ path: join(dir, `close-${randomUUID()}.db`), onWriterThread: (thread) => threads.push(thread) });
    await store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event() });
    await threads[0].terminate();
    await store.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(threads.length, 1, "no thread was started after close");
  });
});

/** A migrated in-memory database for `use`, closed after it. */
async function withMigratedDb(use: (db: Database.Database) => void | Promise<void>): Promise<void> {
  const { migrate } = await import("../../src/store/sqlite/schema.js");
  const db = new Database(":memory:");
  try {
    migrate(db);
    await use(db);
  } finally {
    db.close();
  }
}

describe("SQLite store: document pages", () => {
  it("seeks a keyset page in the order field's column index instead of skipping rows", async () => {
    const { findDocumentsSqlite } = await import("../../src/store/sqlite/document-columns.js");
    await withMigratedDb((db) => {
      const slots = new Map([["status", 0], ["checkIn", 3]]);
      const [text, values] = findDocumentsSqlite("t", "bookings@1", {
        where: [{ field: "status", op: "eq", value: "booked" }],
        orderBy: { field: "checkIn", numeric: false, direction: "asc" },
        after: { value: "2026-06-01", id: "b7" },
        limit: 51,
      }, (field) => slots.get(field))!;
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...values) as { detail: string }[]).map((row) => row.detail);
      assert.match(plan.join("; "), /USING INDEX documents_by_f3 \(tenant=\? AND collection=\? AND \(f3,id\)>\(\?,\?\)\)/);
      assert.ok(!plan.some((step) => /TEMP B-TREE/.test(step)), `no sort: ${plan.join("; ")}`);
      assert.equal(findDocumentsSqlite("t", "bookings@1", { where: [{ field: "nights", op: "eq", value: 1 }], limit: 5 }, (field) => slots.get(field)), undefined, "a field without a column matches nothing");
    });
  });
});

describe("SQLite store: a document's field columns", () => {
  it("an update sets the changed fields, clears those the document no longer has and keeps the rest; a field keeps its first slot", async () => {
    const { documentWriter, wireDocumentOf } = await import("../../src/store/sqlite/documents.js");
    await withMigratedDb((db) => {
      const documents = documentWriter(db);
      const fieldsOf = (id: string) => {
        const slots = db.prepare("SELECT field, slot FROM document_slots WHERE collection = 'c'").raw().all() as [string, number][];
        const row = db.prepare("SELECT * FROM documents WHERE id = ?").get(id) as Record<string, unknown>;
        return Object.fromEntries(slots.filter(([, slot]) => row[`f${slot}`] !== null).map(([field, slot]) => [field, row[`f${slot}`]]));
      };
      const first = { status: "booked", paidMinor: 0, guestId: "g1" };
      const second = { status: "booked", paidMinor: 500, checkIn: "2030-01-01" };
      documents.write("t", wireDocumentOf({ collection: "c", id: "a", document: first, fields: first }));
      assert.deepEqual(fieldsOf("a"), first);
      documents.write("t", wireDocumentOf({ collection: "c", id: "a", expectedVersion: 1, document: second, fields: second }));
      assert.deepEqual(fieldsOf("a"), second, "guestId gone, paidMinor changed, checkIn added, status kept");
      assert.deepEqual(db.prepare("SELECT field FROM document_slots WHERE collection = 'c' ORDER BY slot").raw().all().flat(), ["status", "paidMinor", "guestId", "checkIn"]);
    });
  });

  it("a rebuild's swap moves each field from its slot in the rebuilt collection to its slot in the live one", async () => {
    const { consumerTasks, documentReader, documentWriter, wireDocumentOf } = await import("../../src/store/sqlite/documents.js");
    await withMigratedDb((db) => {
      const documents = documentWriter(db);
      // The live collection met `status` first, the rebuilt one `nights`: their slots differ.
      documents.write("t", wireDocumentOf({ collection: "live", id: "old", document: {}, fields: { status: "gone", nights: 9 } }));
      documents.write("t", wireDocumentOf({ collection: "rebuilt", id: "a", document: { n: 2 }, fields: { nights: 2, status: "booked" } }));
      documents.write("t", wireDocumentOf({ collection: "rebuilt", id: "b", document: { n: 3 }, fields: { nights: 3 } }));
      db.prepare("INSERT INTO consumers (name, position, owner) VALUES ('rebuild:live', 0, 'me')").run();
      const answer = consumerTasks(db)(["replace", { target: "live", source: "rebuilt", head: 0, rebuildConsumer: "rebuild:live", owner: "me" }]);
      assert.equal(answer, "replaced");
      const reader = documentReader(db);
      const ids = (query: Parameters<typeof reader.find>[2]) => reader.find("t", "live", query).map((row) => row.id);
      assert.deepEqual(ids({ where: [{ field: "status", op: "eq", value: "booked" }], limit: 10 }), ["a"]);
      assert.deepEqual(ids({ orderBy: { field: "nights", numeric: true, direction: "desc" }, limit: 10 }), ["b", "a"]);
      assert.deepEqual(ids({ limit: 10 }), ["a", "b"], "the old documents are gone, the rebuilt ones are live");
      assert.deepEqual(reader.find("t", "rebuilt", { limit: 10 }), []);
    });
  });

  it("are at most 16 a collection: a 17th field fails the write, naming it", async () => {
    const { documentWriter, wireDocumentOf } = await import("../../src/store/sqlite/documents.js");
    await withMigratedDb((db) => {
      const fields = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`field${i}`, i]));
      assert.throws(() => documentWriter(db).write("t", wireDocumentOf({ collection: "c", id: "a", document: fields, fields })), /would index a 17th field \("field16"\); SQLite keeps at most 16/);
    });
  });

  it("moves an older file's side-table fields into the columns", async () => {
    const { migrate, MIGRATIONS } = await import("../../src/store/sqlite/schema.js");
    const { DOCUMENT_COLUMNS_SQL } = await import("../../src/store/sqlite/document-columns.js");
    const path = join(dir, "before-columns.db");
    const db = new Database(path);
    try {
      // The schema as it was before the columns: every step before theirs.
      const before = MIGRATIONS.indexOf(DOCUMENT_COLUMNS_SQL);
      assert.ok(before > 0);
      db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      for (const step of MIGRATIONS.slice(0, before)) db.exec(step);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(before);
      db.prepare("INSERT INTO documents (tenant, collection, id, version, data) VALUES ('t', 'bookings@2', 'b1', 3, '{}')").run();
      const field = db.prepare("INSERT INTO document_fields (tenant, collection, id, field, value) VALUES ('t', 'bookings@2', 'b1', ?, ?)");
      field.run("status", "paid");
      field.run("paidMinor", 500);
      migrate(db);
      const row = db.prepare("SELECT * FROM documents WHERE id = 'b1'").get() as Record<string, unknown>;
      const slots = Object.fromEntries(db.prepare("SELECT field, slot FROM document_slots WHERE collection = 'bookings@2'").raw().all() as [string, number][]);
      assert.deepEqual(slots, { paidMinor: 0, status: 1 }, "slots in field-name order");
      assert.deepEqual([row.f0, row.f1, row.f2, row.version], [500, "paid", null, 3]);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'document_fields'").pluck().get(), 0);
    } finally {
      db.close();
    }
  });
});
