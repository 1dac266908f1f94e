import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { EventMetadata } from "../../src/kernel/events.js";
import type { AppendRequest, EventStore, NewEvent } from "../../src/store/event-store.js";
import { documentContract } from "./document-contract.js";
import { multiStreamContract } from "./contract-multi-stream.js";

/** Metadata for test events. */
function meta(tenant: string): EventMetadata {
  return {
    commandId: "c",
    commandType: "test.Command",
    requestId: "r",
    correlationId: "r",
    causationId: "c",
    tenant,
    timestamp: new Date().toISOString(),
  };
}

function events(tenant: string, ...types: string[]): NewEvent[] {
  return types.map((type, i) => ({ id: randomUUID(), type, data: { n: i, type }, metadata: meta(tenant) }));
}

/** A stream id no other test uses, so the suite can share one store. */
const fresh = (name = "s") => `${name}-${randomUUID()}`;

/**
 * The behaviour every EventStore must have. Each store's test file calls this with a
 * factory; the suite opens one store and closes it at the end.
 */
export function eventStoreContract(name: string, open: () => Promise<EventStore> | EventStore): void {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });
    const T = "tenant-a";

    it("appends to a new stream with gapless revisions from 1 and rising positions", async () => {
      const stream = fresh();
      const first = await store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: events(T, "A", "B") });
      assert.equal(first.kind, "appended");
      const second = await store.append({ tenant: T, streamId: stream, expectedRevision: 2, events: events(T, "C") });
      assert.equal(second.kind, "appended");
      if (first.kind !== "appended" || second.kind !== "appended") return;
      assert.equal(first.revision, 2);
      assert.equal(second.revision, 3);
      assert.ok(first.positions[0] < first.positions[1] && first.positions[1] < second.positions[0]);
      const read = await store.readStream(T, stream);
      assert.deepEqual(read.map((e) => [e.revision, e.type]), [[1, "A"], [2, "B"], [3, "C"]]);
      assert.deepEqual(read[2].data, { n: 0, type: "C" });
      assert.equal(read[0].metadata.tenant, T);
      assert.equal(await store.streamRevision(T, stream), 3);
    });

    it("stores each event's own metadata, whether events share one metadata object or not", async () => {
      const stream = fresh();
      const shared = { ...meta(T), causationId: "shared" };
      const own = { ...meta(T), causationId: "own" };
      const typed = (type: string, metadata: NewEvent["metadata"]) => ({ id: randomUUID(), type, data: {}, metadata });
      await store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: [typed("A", shared), typed("B", shared), typed("C", own), typed("D", shared)] });
      const read = await store.readStream(T, stream);
      assert.deepEqual(read.map((e) => [e.type, e.metadata.causationId]), [["A", "shared"], ["B", "shared"], ["C", "own"], ["D", "shared"]]);
    });

    it("refuses an append whose expected revision is stale and writes nothing", async () => {
      const stream = fresh();
      await store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: events(T, "A") });
      const stale = await store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: events(T, "B") });
      assert.deepEqual(stale, { kind: "conflict", actualRevision: 1 });
      const ahead = await store.append({ tenant: T, streamId: stream, expectedRevision: 5, events: events(T, "B") });
      assert.deepEqual(ahead, { kind: "conflict", actualRevision: 1 });
      assert.equal((await store.readStream(T, stream)).length, 1);
    });

    it("lets exactly one of many racing appends at the same revision win", async () => {
      const stream = fresh();
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: events(T, "A", "B") })),
      );
      assert.equal(outcomes.filter((o) => o.kind === "appended").length, 1);
      assert.equal(outcomes.filter((o) => o.kind === "conflict").length, 19);
      assert.deepEqual((await store.readStream(T, stream)).map((e) => e.revision), [1, 2]);
    });

    it("writes all events of an append or none when one fails midway", async () => {
      const stream = fresh();
      const bad = [...events(T, "A"), { id: randomUUID(), type: "B", data: { n: 10n }, metadata: meta(T) }, ...events(T, "C")];
      await assert.rejects(store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: bad }));
      assert.equal((await store.readStream(T, stream)).length, 0);
      assert.equal(await store.streamRevision(T, stream), 0);
      const good = await store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: events(T, "A") });
      assert.equal(good.kind, "appended");
    });

    it("fails only the append that fails partway when it was sent with others", async () => {
      const [s1, s2, s3, s4] = [fresh(), fresh(), fresh(), fresh()];
      const taken = randomUUID();
      const requestId = randomUUID();
      const outcomes = await Promise.allSettled([
        store.append({ tenant: T, streamId: s1, expectedRevision: 0, events: [{ id: taken, type: "A", data: {}, metadata: meta(T) }] }),
        // Its first event is written, then its second breaks the event-id constraint.
        store.append({
          tenant: T,
          streamId: s2,
          expectedRevision: 0,
          events: [...events(T, "B"), { id: taken, type: "C", data: {}, metadata: meta(T) }],
          request: { requestId, commandType: "t", aggregateId: "x", fingerprint: "f", result: {} },
        }),
        // Fails before anything is queued: data JSON cannot hold.
        store.append({ tenant: T, streamId: s3, expectedRevision: 0, events: [{ id: randomUUID(), type: "D", data: { n: 1n }, metadata: meta(T) }] }),
        store.append({ tenant: T, streamId: s4, expectedRevision: 0, events: events(T, "E") }),
      ]);
      assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "rejected", "rejected", "fulfilled"]);
      // SQLite says "UNIQUE constraint failed: events.id", PostgreSQL names the constraint events_id_unique.
      assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /events[._]id/);
      assert.deepEqual((await store.readStream(T, s1)).map((e) => e.type), ["A"]);
      assert.deepEqual(await store.readStream(T, s2), [], "the failed append's first event was undone");
      assert.equal(await store.findRequest(T, requestId), undefined);
      assert.deepEqual(await store.readStream(T, s3), []);
      assert.deepEqual((await store.readStream(T, s4)).map((e) => e.type), ["E"]);
    });

    it("reads a stream from a revision, at most maxCount events", async () => {
      const stream = fresh();
      await store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: events(T, "A", "B", "C", "D", "E") });
      assert.deepEqual((await store.readStream(T, stream, { fromRevision: 2, maxCount: 2 })).map((e) => e.type), ["B", "C"]);
      assert.deepEqual((await store.readStream(T, stream, { fromRevision: 5 })).map((e) => e.type), ["E"]);
      assert.deepEqual(await store.readStream(T, stream, { fromRevision: 6 }), []);
      assert.deepEqual(await store.readStream(T, fresh("missing")), []);
    });

    it("reads all streams forward from a position, filtered by type", async () => {
      const tenant = `t-${randomUUID()}`;
      const [s1, s2] = [fresh(), fresh()];
      await store.append({ tenant, streamId: s1, expectedRevision: 0, events: events(tenant, "A", "B") });
      await store.append({ tenant, streamId: s2, expectedRevision: 0, events: events(tenant, "A", "C") });
      const all = await store.readAll(tenant);
      assert.deepEqual(all.map((e) => `${e.streamId === s1 ? 1 : 2}${e.type}`), ["1A", "1B", "2A", "2C"]);
      assert.ok(all.every((e, i) => i === 0 || e.position > all[i - 1].position));
      const page = await store.readAll(tenant, { fromPosition: all[1].position, maxCount: 2 });
      assert.deepEqual(page.map((e) => e.position), [all[1].position, all[2].position]);
      const onlyA = await store.readAll(tenant, { eventTypes: ["A"] });
      assert.deepEqual(onlyA.map((e) => e.streamId), [s1, s2]);
    });

    it("keeps tenants apart: same stream id, separate revisions and reads", async () => {
      const stream = fresh();
      const [a, b] = [`ta-${randomUUID()}`, `tb-${randomUUID()}`];
      await store.append({ tenant: a, streamId: stream, expectedRevision: 0, events: events(a, "A", "A") });
      const inB = await store.append({ tenant: b, streamId: stream, expectedRevision: 0, events: events(b, "B") });
      assert.equal(inB.kind, "appended");
      assert.deepEqual((await store.readStream(b, stream)).map((e) => e.type), ["B"]);
      assert.deepEqual((await store.readAll(b)).map((e) => e.type), ["B"]);
      assert.equal(await store.streamRevision(a, stream), 2);
    });

    it("stores the request record with the events and refuses a second use of the request id", async () => {
      const stream = fresh();
      const requestId = randomUUID();
      const withRecord = (expectedRevision: number): AppendRequest => ({
        tenant: T,
        streamId: stream,
        expectedRevision,
        events: events(T, "A"),
        request: { requestId, commandType: "test.Command", aggregateId: "x", fingerprint: "f", result: { answer: 42 } },
      });
      const first = await store.append(withRecord(0));
      assert.equal(first.kind, "appended");
      const record = await store.findRequest(T, requestId);
      assert.deepEqual(record?.result, { answer: 42 });
      assert.deepEqual(record?.positions, first.kind === "appended" ? first.positions : [], "the events' positions are kept beside the result");
      assert.equal(record?.positions.length, 1);
      assert.equal(record?.fingerprint, "f");
      const again = await store.append(withRecord(1));
      assert.deepEqual(again, { kind: "request-taken" });
      assert.equal((await store.readStream(T, stream)).length, 1, "the second append's events were rolled back");
      assert.equal(await store.findRequest("other-tenant", requestId), undefined);
    });

    it("records a request with no events (a rejection) under the revision guard", async () => {
      const stream = fresh();
      await store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: events(T, "A") });
      const requestId = randomUUID();
      const record = { requestId, commandType: "t", aggregateId: "x", fingerprint: "f", result: { status: "rejected" } };
      assert.deepEqual(await store.append({ tenant: T, streamId: stream, expectedRevision: 0, events: [], request: record }), {
        kind: "conflict",
        actualRevision: 1,
      });
      assert.equal(await store.findRequest(T, requestId), undefined);
      const ok = await store.append({ tenant: T, streamId: stream, expectedRevision: 1, events: [], request: record });
      assert.deepEqual(ok, { kind: "appended", revision: 1, positions: [] });
      assert.deepEqual((await store.findRequest(T, requestId))?.result, { status: "rejected" });
    });

    it("saves and loads snapshots in the append's transaction", async () => {
      const stream = fresh();
      assert.equal(await store.loadSnapshot(T, stream), undefined);
      const outcome = await store.append({
        tenant: T,
        streamId: stream,
        expectedRevision: 0,
        events: events(T, "A", "B"),
        snapshot: { revision: 2, version: 3, state: { count: 2 } },
      });
      // The size the pipeline spaces snapshots and weighs cached states by: the length of the JSON saved.
      const size = JSON.stringify({ count: 2 }).length;
      assert.deepEqual(await store.loadSnapshot(T, stream), { revision: 2, version: 3, state: { count: 2 }, size });
      assert.equal(outcome.kind === "appended" && outcome.snapshotSize, size);
      const without = await store.append({ tenant: T, streamId: stream, expectedRevision: 2, events: events(T, "C") });
      assert.equal(without.kind === "appended" && without.snapshotSize, undefined);
    });

    it("commits appends sent together independently: a conflict or a taken request id does not touch the others", async () => {
      const [s1, s2, s3] = [fresh(), fresh(), fresh()];
      await store.append({ tenant: T, streamId: s2, expectedRevision: 0, events: events(T, "X") });
      const taken = randomUUID();
      await store.append({
        tenant: T,
        streamId: fresh(),
        expectedRevision: 0,
        events: [],
        request: { requestId: taken, commandType: "t", aggregateId: "x", fingerprint: "f", result: {} },
      });
      const [ok, conflict, requestTaken, alsoOk] = await Promise.all([
        store.append({ tenant: T, streamId: s1, expectedRevision: 0, events: events(T, "A") }),
        store.append({ tenant: T, streamId: s2, expectedRevision: 0, events: events(T, "B") }),
        store.append({
          tenant: T,
          streamId: s3,
          expectedRevision: 0,
          events: events(T, "C"),
          request: { requestId: taken, commandType: "t", aggregateId: "x", fingerprint: "f", result: {} },
        }),
        store.append({ tenant: T, streamId: s3, expectedRevision: 0, events: events(T, "D") }),
      ]);
      assert.equal(ok.kind, "appended");
      assert.deepEqual(conflict, { kind: "conflict", actualRevision: 1 });
      assert.deepEqual(requestTaken, { kind: "request-taken" });
      assert.equal(alsoOk.kind, "appended");
      assert.deepEqual((await store.readStream(T, s3)).map((e) => e.type), ["D"]);
      assert.deepEqual((await store.readStream(T, s2)).map((e) => e.type), ["X"]);
    });

    documentContract(() => store);
    multiStreamContract(() => store);
  });
}
