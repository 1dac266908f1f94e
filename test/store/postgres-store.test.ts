import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import pg from "pg";
import { StoreUnavailableError, type Availability, type EventStore } from "../../src/store/event-store.js";
import { checkOut } from "../../src/store/postgres/check-out.js";
import { openPostgresStore, type PostgresStoreOptions } from "../../src/store/postgres/postgres-store.js";
import { APPEND_LOCK, SCHEMA_VERSION } from "../../src/store/postgres/schema.js";
import { eventually } from "../support/eventually.js";
import { startTestPostgres } from "../support/postgres.js";
import { eventStoreContract } from "./contract.js";

const started = await startTestPostgres();

if ("skip" in started) {
  console.log(`# PostgreSQL store tests skipped: ${started.skip}`);
  it("PostgreSQL store", { skip: started.skip }, () => {});
} else {
  const server = started.postgres;
  after(() => server.stop());

  /**
   * Runs `body` with a store on a new database and a plain client on the same server (on
   * the database `admin` names, else the new one) to set the scene with; closes both.
   */
  const withStoreAndAdmin = async (
    name: string,
    options: Omit<PostgresStoreOptions, "connectionString">,
    body: (store: EventStore, admin: pg.Client, url: string) => Promise<void>,
    admin?: string,
  ) => {
    const url = await server.database(name);
    const store = await openPostgresStore({ connectionString: url, ...options });
    const client = new pg.Client({ connectionString: admin ? url.replace(/\/[^/]+$/, `/${admin}`) : url });
    await client.connect();
    try {
      await body(store, client, url);
    } finally {
      await client.end();
      await store.close();
    }
  };

  eventStoreContract("PostgreSQL", async () => openPostgresStore({ connectionString: await server.database("contract") }));

  describe("PostgreSQL store", () => {
    it("keeps running when the connection of a client checked out for a transaction is cut (a server shutting down does that)", async () => {
      const pool = new pg.Pool({ connectionString: await server.database("check_out_cut") });
      try {
        const client = await checkOut(pool);
        const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
        const ended = new Promise((resolve) => client.once("end", resolve));
        // Cut between statements: pg emits 'error' on the client, which ends the process unless someone listens.
        await pool.query("SELECT pg_terminate_backend($1)", [pid]);
        await ended;
        await assert.rejects(client.query("SELECT 1"));
        client.release();
        assert.equal(client.listenerCount("error"), 1, "only the pool's own listener is left on a released client");
        assert.equal((await pool.query<{ one: number }>("SELECT 1 AS one")).rows[0].one, 1, "the pool goes on with another connection");
      } finally {
        await pool.end();
      }
    });

    it("lets two stores on one database (two replicas) race at the same revision: exactly one append wins", async () => {
      const url = await server.database("replicas");
      const [a, b] = [await openPostgresStore({ connectionString: url }), await openPostgresStore({ connectionString: url })];
      try {
        const event = () => [{ id: randomUUID(), type: "A", data: {}, metadata: { tenant: "t" } as never }];
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event() })),
        );
        assert.equal(outcomes.filter((o) => o.kind === "appended").length, 1);
        assert.ok(outcomes.every((o) => o.kind === "appended" || (o.kind === "conflict" && o.actualRevision === 1)));
        assert.equal(await b.streamRevision("t", "s"), 1);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("hands out positions in commit order across replicas, so a reader paging by position misses nothing", async () => {
      const url = await server.database("positions");
      const stores = await Promise.all([0, 1, 2].map(() => openPostgresStore({ connectionString: url })));
      try {
        // Three replicas, six streams each, ten appends a stream one after another: 180 events.
        const event = (s: number, i: number) => [{ id: randomUUID(), type: "A", data: { s, i }, metadata: { tenant: "t" } as never }];
        const appends = stores.flatMap((store, s) =>
          Array.from({ length: 6 }, async (_, k) => {
            const outcomes = [];
            for (let i = 0; i < 10; i++) outcomes.push(await store.append({ tenant: "t", streamId: `s${s}-${k}`, expectedRevision: i, events: event(s, i) }));
            return outcomes;
          }),
        );
        // A reader paging while the appends commit sees each position once, in order, with no gap filled later.
        const seen: number[] = [];
        let next = 1;
        const reading = (async () => {
          for (let round = 0; round < 200 && seen.length < 180; round++) {
            const page = await stores[0].readAll("t", { fromPosition: next, maxCount: 7 });
            for (const e of page) seen.push(e.position);
            if (page.length > 0) next = page[page.length - 1].position + 1;
            else await new Promise((r) => setTimeout(r, 2));
          }
        })();
        const outcomes = (await Promise.all(appends)).flat();
        await reading;
        assert.ok(outcomes.every((o) => o.kind === "appended"), "every append had its own revision");
        const all = (await stores[1].readAll("t", { maxCount: 1000 })).map((e) => e.position);
        assert.equal(all.length, 180);
        assert.deepEqual(seen, all.slice(0, seen.length), "the pager saw exactly the committed positions, in order");
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it("deletes request records past the retention window, by the database's clock", () =>
      withStoreAndAdmin("retention", { requestRetentionMs: 60_000 }, async (store, admin) => {
        const record = (requestId: string) => ({ requestId, commandType: "t", aggregateId: "x", fingerprint: "f", result: {} });
        await store.append({ tenant: "t", streamId: "old", expectedRevision: 0, events: [], request: record("old") });
        await store.append({ tenant: "t", streamId: "new", expectedRevision: 0, events: [], request: record("new") });
        await admin.query("UPDATE requests SET created_at = now() - interval '2 minutes' WHERE request_id = 'old'");
        const deadline = Date.now() + 5000;
        while ((await store.findRequest("t", "old")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.equal(await store.findRequest("t", "old"), undefined, "the expired record was deleted");
        assert.ok(await store.findRequest("t", "new"), "the record inside the window was kept");
      }));

    it("fails an append whose ids PostgreSQL text cannot hold alone, naming why, and commits the others of its batch", async () => {
      const store = await openPostgresStore({ connectionString: await server.database("nul") });
      try {
        const event = () => [{ id: randomUUID(), type: "A", data: { text: "a\u0000b \ud800" }, metadata: { tenant: "t" } as never }];
        const [nul, surrogate, good, split] = await Promise.allSettled([
          store.append({ tenant: "t", streamId: "bad\u0000id", expectedRevision: 0, events: event() }),
          store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: event(), request: { requestId: "r\udc00", commandType: "c", aggregateId: "a", fingerprint: "f", result: {} } }),
          store.append({ tenant: "t", streamId: "good", expectedRevision: 0, events: event() }),
          // A lone high surrogate ending one string and a lone low one starting the next are two faults, not a pair.
          store.append({ tenant: "t", streamId: "split", expectedRevision: 0, events: [{ id: "e\ud800", type: "\udc00A", data: {}, metadata: { tenant: "t" } as never }] }),
        ]);
        assert.equal(nul.status, "rejected");
        assert.match(String((nul as PromiseRejectedResult).reason), /the stream id: a NUL character/);
        assert.equal(surrogate.status, "rejected");
        assert.match(String((surrogate as PromiseRejectedResult).reason), /the request record's requestId: .*lone UTF-16 surrogate/);
        assert.equal(split.status, "rejected");
        assert.match(String((split as PromiseRejectedResult).reason), /its id: .*lone UTF-16 surrogate/);
        assert.equal(good.status, "fulfilled");
        // JSON values keep such characters, escaped.
        assert.deepEqual((await store.readStream("t", "good"))[0].data, { text: "a\u0000b \ud800" });
        assert.equal(await store.streamRevision("t", "s"), 0);
        assert.equal(await store.streamRevision("t", "split"), 0);
      } finally {
        await store.close();
      }
    });

    it("answers STORE_BUSY, writing nothing, when the append lock is held past lockTimeoutMs, and appends once it is free", () =>
      withStoreAndAdmin("locked", { lockTimeoutMs: 200 }, async (store, holder) => {
        // Another connection (a stuck replica, an operator's transaction) holds the lock every batch takes.
        await holder.query(`SELECT pg_advisory_lock(${APPEND_LOCK})`);
        await assert.rejects(store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: [] }), (error: unknown) => {
          assert.ok(error instanceof StoreUnavailableError, String(error));
          assert.equal(error.reason, "STORE_BUSY");
          assert.match(error.message, /lock timeout/);
          return true;
        });
        await holder.query(`SELECT pg_advisory_unlock(${APPEND_LOCK})`);
        assert.equal((await store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: [] })).kind, "appended");
      }));

    it("migrates a new database once when replicas open it together, and refuses one a newer build wrote", async () => {
      const url = await server.database("migrate");
      const stores = await Promise.all([0, 1, 2, 3].map(() => openPostgresStore({ connectionString: url })));
      await Promise.all(stores.map((s) => s.close()));
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        assert.deepEqual((await admin.query("SELECT version FROM switchyard_schema_version")).rows, [{ version: SCHEMA_VERSION }]);
        await admin.query("UPDATE switchyard_schema_version SET version = 99");
      } finally {
        await admin.end();
      }
      await assert.rejects(openPostgresStore({ connectionString: url }), new RegExp(`database schema version 99 is newer than this build supports \\(${SCHEMA_VERSION}\\)`));
    });

    it("fails to open with STORE_UNREACHABLE, naming the problem, when no server listens", async () => {
      await assert.rejects(openPostgresStore({ connectionString: "postgres://postgres@127.0.0.1:1/none" }), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.equal(error.reason, "STORE_UNREACHABLE");
        assert.match(error.message, /ECONNREFUSED/);
        return true;
      });
    });

    it("goes on after the server cut its connections (as a restart would): at most the call that met a cut one is STORE_UNREACHABLE", async () => {
      let closed!: EventStore;
      await withStoreAndAdmin(
        "gone",
        {},
        async (store, admin, url) => {
          closed = store;
          await store.append({ tenant: "t", streamId: "s", expectedRevision: 0, events: [] });
          await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [new URL(url).pathname.slice(1)]);
          // The pool may not have seen its idle connection die yet: then this call meets it.
          const outcome = await store.append({ tenant: "t", streamId: "s2", expectedRevision: 0, events: [] }).catch((e: unknown) => e);
          const unreachable = outcome instanceof StoreUnavailableError && outcome.reason === "STORE_UNREACHABLE";
          assert.ok(unreachable || (outcome as { kind?: string }).kind === "appended", `appended or STORE_UNREACHABLE, not ${String(outcome)}`);
          // The next call reconnects.
          assert.equal((await store.append({ tenant: "t", streamId: "s3", expectedRevision: 0, events: [] })).kind, "appended");
        },
        "postgres",
      );
      await assert.rejects(closed.readStream("t", "s"), (error: unknown) => error instanceof StoreUnavailableError && error.reason === "STORE_CLOSED");
    });

    // Last: it stops the server the others share.
    it("is unavailable while the server is down (STORE_UNREACHABLE), and available again once it is back", { skip: server.outage ? false : "TEST_POSTGRES_URL names a server this test cannot stop" }, async () => {
      const url = await server.database("outage");
      const store = await openPostgresStore({ connectionString: url, probeEveryMs: 100 });
      const changes: Availability[] = [];
      store.watchAvailability!((change) => changes.push(change));
      const append = (streamId: string) => store.append({ tenant: "t", streamId, expectedRevision: 0, events: [] });
      const unreachable = (error: unknown) => error instanceof StoreUnavailableError && error.reason === "STORE_UNREACHABLE";
      let down = false;
      try {
        assert.equal((await append("before")).kind, "appended");
        server.outage!.stop();
        down = true;
        await assert.rejects(append("during"), unreachable);
        await assert.rejects(store.readStream("t", "before"), unreachable);
        assert.deepEqual(changes.map((c) => c.available), [false], "told once, however many calls fail");
        assert.match(String(changes[0].reason), /PostgreSQL/);
        server.outage!.start();
        down = false;
        // No call needed: the store's probe finds the server back.
        await eventually("the store is available again", async () => changes.length === 2);
        assert.deepEqual(changes.map((c) => c.available), [false, true]);
        assert.equal((await append("after")).kind, "appended");
        assert.equal(await store.streamRevision("t", "during"), 0, "the append refused while down wrote nothing");
      } finally {
        if (down) server.outage!.start();
        await store.close();
      }
    });
  });
}
