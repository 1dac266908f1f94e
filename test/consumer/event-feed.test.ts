import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createEventFeed } from "../../src/consumer/event-feed.js";
import type { EventMetadata } from "../../src/kernel/events.js";
import type { AppendRequest, NewEvent, TenantEvent } from "../../src/store/event-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { countingStore } from "../support/counting-store.js";
import { eventually } from "../support/eventually.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-feed-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `feed-${files++}.db`);

function events(tenant: string, ...types: string[]): NewEvent[] {
  const metadata: EventMetadata = { commandId: randomUUID(), commandType: "t", requestId: "r", correlationId: "r", causationId: "c", tenant, timestamp: new Date().toISOString() };
  // A Date and an undefined field: what the feed keeps must be the stored JSON's reading, not the objects appended.
  return types.map((type, i) => ({ id: randomUUID(), type, data: { n: i, at: new Date(Date.UTC(2030, 0, 1)), gone: undefined }, metadata }));
}

/** Single-stream, multi-stream (with snapshots) and conflicting appends in two tenants, all at once. */
function mixedAppends(): AppendRequest[] {
  const appends: AppendRequest[] = [];
  for (let i = 0; i < 12; i++) {
    const tenant = i % 2 ? "t-a" : "t-b";
    appends.push({ tenant, streamId: `one-${randomUUID()}`, expectedRevision: 0, events: events(tenant, "A", "B"), ...(i % 3 ? {} : { snapshot: { revision: 2, version: 1, state: { i } } }) });
    appends.push({
      tenant,
      streamId: `own-${randomUUID()}`,
      expectedRevision: 0,
      events: events(tenant, "Booked"),
      otherStreams: [
        { streamId: `room-${randomUUID()}`, expectedRevision: 0, events: events(tenant, "Reserved", "Noted"), snapshot: { revision: 2, version: 1, state: { i } } },
        { streamId: `extra-${randomUUID()}`, expectedRevision: 0, events: events(tenant, "Counted") },
      ],
      request: { requestId: randomUUID(), commandType: "t", aggregateId: "x", fingerprint: "f", result: { i } },
    });
    // Turned away (the stream does not exist at revision 3): writes nothing and hands over nothing.
    appends.push({ tenant, streamId: `stale-${randomUUID()}`, expectedRevision: 3, events: events(tenant, "Never") });
  }
  return appends;
}

const allOf = (feed: ReturnType<typeof createEventFeed>) => feed.after(0, 1_000_000)?.events;

describe("event feed: the SQLite store hands over what this process commits", () => {
  it("the events handed over are the events readAllTenants reads, position for position", async () => {
    const store = openSqliteStore({ path: newFile() });
    try {
      const handed: TenantEvent[] = [];
      let tellsWithEvents = 0;
      const unwatch = store.watchCommits((committed) => {
        const events = committed?.() ?? [];
        if (events.length === 0) return;
        tellsWithEvents++;
        handed.push(...events);
      });
      const outcomes = await Promise.all(mixedAppends().map((a) => store.append(a)));
      unwatch();
      assert.equal(outcomes.filter((o) => o.kind === "conflict").length, 12, "the stale appends were turned away");
      const stored = await store.readAllTenants({ fromPosition: 1 });
      assert.equal(stored.length, 12 * 2 + 12 * 4);
      assert.ok(tellsWithEvents > 0);
      assert.deepEqual(
        [...handed].sort((a, b) => a.event.position - b.event.position),
        stored,
        "same tenant, stream, revision, position, id, type, data, metadata and size",
      );
      assert.equal(stored[0].event.data && (stored[0].event.data as { at: unknown }).at, "2030-01-01T00:00:00.000Z");
    } finally {
      await store.close();
    }
  });

  it("a feed takes this process's commits without reading them back", async () => {
    // No poll for other writers: a poll that sees the file change before the batch's answer is
    // back reads those events, rightly (the next test has that case), and would blur this one.
    const inner = openSqliteStore({ path: newFile(), commitPollMs: 3_600_000 });
    const { store, counts } = countingStore(inner);
    const feed = createEventFeed(store);
    try {
      await feed.open();
      for (let round = 0; round < 5; round++) await Promise.all(mixedAppends().map((a) => store.append(a)));
      const stored = await inner.readAllTenants({ fromPosition: 1 });
      await eventually("the feed's head", async () => feed.head === stored[stored.length - 1].event.position);
      assert.deepEqual(allOf(feed), stored);
      assert.equal(counts.allTenantsEventsRead, 0, `the feed read back ${counts.allTenantsEventsRead} events in ${counts.allTenantsReads} reads`);
    } finally {
      feed.close();
      await inner.close();
    }
  });

  it("with another writer on the file, every event is in the feed once, in position order", async () => {
    const path = newFile();
    const inner = openSqliteStore({ path, commitPollMs: 5 });
    const other = openSqliteStore({ path });
    const { store, counts } = countingStore(inner);
    const feed = createEventFeed(store);
    try {
      await feed.open();
      for (let round = 0; round < 6; round++) {
        // The other connection's commits come between this process's: then the handed events do not follow the head.
        await Promise.all([...mixedAppends().map((a) => store.append(a)), ...mixedAppends().map((a) => other.append(a))]);
      }
      const stored = await inner.readAllTenants({ fromPosition: 1, maxCount: 10_000 });
      await eventually("the feed's head", async () => feed.head === stored[stored.length - 1].event.position);
      assert.deepEqual(allOf(feed), stored);
      assert.ok(counts.allTenantsEventsRead > 0, "the other writer's events were read from the store");
    } finally {
      feed.close();
      await Promise.all([inner.close(), other.close()]);
    }
  });
});
