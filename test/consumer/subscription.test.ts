import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import type { ConsumerMessage, ConsumerPosition } from "../../src/consumer/subscription.js";
import { copyWith } from "../../src/kernel/copy-with.js";
import { TRUSTED_LOCAL } from "../../src/kernel/identity.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");

type App = ReturnType<typeof bookingApp>;

/** Collects a consumer's messages until `enough` says so (or the time runs out), then stops it. */
async function collect(app: App, options: Partial<Parameters<App["subscribe"]>[0]>, enough: (messages: ConsumerMessage[]) => boolean, timeoutMs = 10_000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const messages: ConsumerMessage[] = [];
  const at: ConsumerPosition = { told: 0 };
  for await (const message of app.subscribe({ tenant: "default", after: 0, ...options, signal: controller.signal }, at)) {
    messages.push(message);
    if (enough(messages)) break;
  }
  clearTimeout(timer);
  return { messages, at, timedOut: controller.signal.aborted };
}

const events = (messages: ConsumerMessage[]) => messages.flatMap((m) => (m.kind === "event" ? [m.event] : []));
const kinds = (messages: ConsumerMessage[]) => messages.map((m) => m.kind);

/** Books each id: two events apiece, the booking's RoomBooked and its room's NightsReserved at the next position. */
async function book(app: App, ids: string[], tenant = "default") {
  const identity = copyWith(TRUSTED_LOCAL, { tenant });
  for (const id of ids) assert.equal((await app.commands.bookRoom(bookRoomPayload(id), { identity })).status, "accepted");
}

describe("consumer: catch-up, then live", () => {
  it("reads what was written, says caught-up once at the head, then delivers new events live with no gap and no duplicate", async () => {
    const app = bookingApp();
    await book(app, ["B1", "B2", "B3"]);
    const live = collect(app, {}, (m) => events(m).length === 12);
    // Appends racing the switch-over: some land before the consumer reaches the head, some after.
    const writing = (async () => {
      for (let i = 4; i <= 6; i++) {
        await book(app, [`B${i}`]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const [{ messages, timedOut }] = await Promise.all([live, writing]);
    assert.equal(timedOut, false);
    assert.deepEqual(events(messages).map((e) => e.position), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(kinds(messages).filter((k) => k === "caught-up").length, 1);
    await app.close();
  });

  it("starts after a given position, or at the head for 'now'", async () => {
    const app = bookingApp();
    await book(app, ["B1", "B2", "B3"]);
    const fromTwo = await collect(app, { after: 2 }, (m) => m.some((x) => x.kind === "caught-up"));
    assert.deepEqual(events(fromTwo.messages).map((e) => e.position), [3, 4, 5, 6]);
    const now = collect(app, { after: "now" }, (m) => events(m).length === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await book(app, ["B4"]);
    const { messages } = await now;
    assert.deepEqual(kinds(messages), ["caught-up", "event", "event"]);
    assert.equal(events(messages)[0].position, 7);
    await app.close();
  });

  it("filters by event type and stream id prefix, and never shows another tenant's events", async () => {
    const app = bookingApp();
    await book(app, ["B1", "B2"]);
    await book(app, ["X1"], "other-tenant");
    assert.equal((await app.commands.recordPayment(paymentPayload("B1", "P1"))).status, "accepted");
    const payments = await collect(app, { filter: { eventTypes: ["PaymentRecorded"] } }, (m) => m.some((x) => x.kind === "caught-up"));
    assert.deepEqual(events(payments.messages).map((e) => e.type), ["PaymentRecorded"]);
    const b2 = await collect(app, { filter: { streamIdPrefix: "booking-B2" } }, (m) => m.some((x) => x.kind === "caught-up"));
    assert.deepEqual(events(b2.messages).map((e) => e.streamId), ["booking-B2"]);
    const all = await collect(app, {}, (m) => m.some((x) => x.kind === "caught-up"));
    assert.ok(events(all.messages).every((e) => e.metadata.tenant === "default"));
    assert.equal(events(all.messages).length, 5);
    const other = await collect(app, { tenant: "other-tenant" }, (m) => m.some((x) => x.kind === "caught-up"));
    assert.deepEqual(events(other.messages).map((e) => e.streamId), ["booking-X1", "room-X1"]);
    await app.close();
  });

  it("without a tenant reads every tenant's events in position order, each told with its tenant, from the store's pages and from the tail", async () => {
    for (const feedTailSize of [1, 10_000]) {
      const app = bookingApp({ feedTailSize });
      await book(app, ["B1"]);
      await book(app, ["X1", "X2"], "other-tenant");
      await book(app, ["B2"]);
      assert.equal((await app.commands.recordPayment(paymentPayload("B1", "P1"))).status, "accepted");
      const { messages } = await collect(app, { tenant: undefined, pageSize: 2, filter: { eventTypes: ["RoomBooked"] } }, (m) => m.some((x) => x.kind === "caught-up"));
      const told = messages.flatMap((m) => (m.kind === "event" ? [`${m.tenant}/${m.event.streamId}@${m.event.position}`] : []));
      assert.deepEqual(told, ["default/booking-B1@1", "other-tenant/booking-X1@3", "other-tenant/booking-X2@5", "default/booking-B2@7"], `tail of ${feedTailSize}`);
      await app.close();
    }
  });
});

describe("consumer: checkpoints", () => {
  it("a filter that matches nothing still moves forward: a checkpoint at least every 1,000 positions scanned, and the head's when idle", async () => {
    const app = bookingApp();
    await book(app, Array.from({ length: 1_250 }, (_, i) => `B${i}`));
    const started = Date.now();
    const { messages } = await collect(app, { filter: { eventTypes: ["NoSuchEvent"] }, idleCheckpointMs: 200 }, (m) => m.some((x) => x.kind === "checkpoint" && x.position === 2_500));
    const checkpoints = messages.flatMap((m) => (m.kind === "checkpoint" ? [m.position] : []));
    assert.deepEqual(checkpoints.slice(0, 2), [1_000, 2_000]);
    assert.equal(checkpoints.at(-1), 2_500);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(events(messages).length, 0);
    await app.close();
  });
});

describe("consumer: a slow consumer", () => {
  it("that falls out of the feed's tail is told fell-behind, reads the store, and is told caught-up again, with no gap", async () => {
    const app = bookingApp({ feedTailSize: 20 });
    await book(app, ["B0"]);
    const controller = new AbortController();
    const iterator = app.subscribe({ tenant: "default", after: 0, signal: controller.signal })[Symbol.asyncIterator]();
    const seen: ConsumerMessage[] = [];
    const next = async () => seen.push((await iterator.next()).value as ConsumerMessage);
    await next(); // B0's RoomBooked
    await next(); // its room's NightsReserved
    await next(); // caught-up
    assert.deepEqual(kinds(seen), ["event", "event", "caught-up"]);
    // While the consumer takes nothing, far more than the tail holds is written.
    await book(app, Array.from({ length: 200 }, (_, i) => `C${i}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    while (events(seen).length < 402) await next();
    await next();
    controller.abort();
    await iterator.return?.(undefined);
    assert.equal(seen.filter((m) => m.kind === "fell-behind").length, 1);
    assert.equal(seen.at(-1)?.kind, "caught-up");
    assert.deepEqual(events(seen).map((e) => e.position), Array.from({ length: 402 }, (_, i) => i + 1));
    await app.close();
  });

});

describe("consumer: two processes writing one SQLite file", () => {
  it("a reader in a third never skips or repeats an event while both commit with random delays", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-consumer-"));
    const path = join(dir, "events.db");
    const app = bookingApp({ store: openSqliteStore({ path }) });
    try {
      const writer = (name: string) => run(process.execPath, ["--import", "tsx", join(ROOT, "test", "fixtures", "random-delay-writer.ts"), path, name, "300"], { cwd: ROOT });
      const writers = Promise.all([writer("a"), writer("b")]);
      await new Promise((resolve) => setTimeout(resolve, 300)); // starts mid-way: catch-up, then live
      const { messages, timedOut } = await collect(app, {}, (m) => events(m).length >= 1200, 60_000);
      const outputs = await writers;
      for (const { stdout } of outputs) assert.equal(JSON.parse(stdout).rejected, 0);
      assert.equal(timedOut, false, `saw ${events(messages).length} of 1200 events (600 bookings and their rooms)`);
      const positions = events(messages).map((e) => e.position);
      const stored = (await app.store.readAll("default", { maxCount: 2000 })).map((e) => e.position);
      assert.deepEqual(positions, stored);
      assert.equal(new Set(positions).size, 1200);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
