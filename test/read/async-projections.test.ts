import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { bookingsProjection, guestStaysProjection } from "../../src/domain/booking/index.js";
import { givenEvents } from "../../src/kernel/projection-specification.js";
import { storedCollectionOf } from "../../src/read/field-values.js";
import { consumerNameOf } from "../../src/read/read-service.js";
import type { EventStore } from "../../src/store/event-store.js";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";
import { eventually } from "../support/eventually.js";
import { itOnPostgres } from "../support/postgres.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-async-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const NAME = consumerNameOf(guestStaysProjection);
const fixture = join(import.meta.dirname, "..", "fixtures", "projection-runner.ts");

/** A runner process and the positions it applied and committed, as it prints them; a 3 s lease, which a child stalled on a loaded machine keeps, so "exactly one" holds. */
function runner(url: string, owner: string, delayMs: number, leaseMs = 3000) {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", fixture, url, owner, String(delayMs), String(leaseMs)], { stdio: ["ignore", "pipe", "inherit"] });
  const seen = { applied: [] as number[], committed: [] as number[], started: false };
  let rest = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      const [word, n] = line.split(" ");
      if (word === "event") seen.applied.push(Number(n));
      if (word === "committed") seen.committed.push(Number(n));
      if (word === "started") seen.started = true;
    }
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { seen, kill: async () => { child.kill("SIGKILL"); await exited; } };
}

/** Books rooms for a few guests, pays some and cancels some: the history guest_stays folds. */
async function history(store: EventStore, bookings: number): Promise<number> {
  const app = bookingApp({ store, projections: [bookingsProjection], runAsyncProjections: false });
  for (let i = 0; i < bookings; i++) {
    await app.commands.bookRoom({ ...bookRoomPayload(`B${i}`), guestId: `G${i % 7}` });
    if (i % 3 === 0) await app.commands.recordPayment(paymentPayload(`B${i}`, `p${i}`, "25.00"));
    if (i % 10 === 0) await app.commands.cancelBooking({ bookingId: `B${i}`, reason: "guest asked" });
  }
  return store.headPosition();
}

/** guest_stays in the store equals the fold of every event: nothing skipped, nothing applied twice. */
async function assertFolded(store: EventStore): Promise<void> {
  const events = await store.readAll("default", { maxCount: 10_000 });
  const rows = await store.findDocuments!("default", storedCollectionOf(guestStaysProjection), { limit: 1000 });
  givenEvents(guestStaysProjection, events.map((e) => ({ type: e.type, data: e.data, streamId: e.streamId, metadata: e.metadata })), { related: [bookingsProjection] }).thenDocuments(
    Object.fromEntries(rows.map((r) => [r.id, r.data])),
  );
}

const caughtUp = (store: EventStore, head: number) => eventually(`guest_stays reaching position ${head}`, async () => (await store.consumerCheckpoint!(NAME)) === head, 60_000);

describe("async projections across processes", () => {
  it("applies every event exactly once across a SIGKILL midway and a restart", async () => {
    const path = join(dir, "killed.db");
    const store = openSqliteStore({ path });
    try {
      const head = await history(store, 120);
      const first = runner(path, "first", 3);
      await eventually("the first runner's third commit", async () => first.seen.committed.length >= 3, 30_000);
      await first.kill();
      const checkpoint = await store.consumerCheckpoint!(NAME);
      assert.ok(checkpoint > 0 && checkpoint < head, `killed midway: checkpoint ${checkpoint} of ${head}`);
      const second = runner(path, "second", 0);
      try {
        await caughtUp(store, head);
        assert.ok(second.seen.applied.length > 0 && Math.min(...second.seen.applied) > checkpoint, "the restart applied only what the first had not committed");
        await assertFolded(store);
      } finally {
        await second.kill();
      }
    } finally {
      await store.close();
    }
  });

  it("runs one runner at a time across two processes on one SQLite file", async () => {
    const path = join(dir, "two.db");
    const store = openSqliteStore({ path });
    try {
      const head = await history(store, 60);
      const both = [runner(path, "one", 1), runner(path, "two", 1)];
      try {
        await caughtUp(store, head);
        const working = both.filter((r) => r.seen.applied.length > 0);
        assert.equal(working.length, 1, "exactly one process applied events");
        await assertFolded(store);
      } finally {
        await Promise.all(both.map((r) => r.kill()));
      }
    } finally {
      await store.close();
    }
  });

  itOnPostgres("runs one runner at a time across two PostgreSQL replicas, and the other takes over when it dies", "async_projection_replicas", async (url) => {
    const store = await openPostgresStore({ connectionString: url });
    try {
      const head = await history(store, 80);
      const both = [runner(url, "replica-a", 4), runner(url, "replica-b", 4)];
      try {
        await eventually("a replica's second commit", async () => both.some((r) => r.seen.committed.length >= 2), 30_000);
        const holder = both.find((r) => r.seen.applied.length > 0)!;
        const other = both.find((r) => r !== holder)!;
        assert.equal(other.seen.applied.length, 0, "the other replica waits");
        await holder.kill();
        const checkpoint = await store.consumerCheckpoint!(NAME);
        await caughtUp(store, head);
        assert.ok(Math.min(...other.seen.applied) > checkpoint, "the replica that took over started after the last commit");
        await assertFolded(store);
      } finally {
        await Promise.all(both.map((r) => r.kill()));
      }
    } finally {
      await store.close();
    }
  });
});
