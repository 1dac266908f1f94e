import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import type { EventMetadata } from "../../src/kernel/events.js";
import type { EventStore, NewEvent } from "../../src/store/event-store.js";

const T = "tenant-multi";

function events(...types: string[]): NewEvent[] {
  const metadata: EventMetadata = { commandId: "c", commandType: "t", requestId: "r", correlationId: "r", causationId: "c", tenant: T, timestamp: new Date().toISOString() };
  return types.map((type, i) => ({ id: randomUUID(), type, data: { n: i }, metadata }));
}

const fresh = (name: string) => `${name}-${randomUUID()}`;

/**
 * Appends over several streams (AppendRequest.otherStreams), for every store: part of
 * eventStoreContract, called inside its describe with the suite's store.
 */
export function multiStreamContract(store: () => EventStore): void {
  it("appends to several streams at once: each guarded, one command's events at consecutive positions", async () => {
    const [own, room, extra] = [fresh("booking"), fresh("room"), fresh("extra")];
    await store().append({ tenant: T, streamId: room, expectedRevision: 0, events: events("Opened") });
    const outcome = await store().append({
      tenant: T,
      streamId: own,
      expectedRevision: 0,
      events: events("Booked", "Noted"),
      otherStreams: [
        { streamId: room, expectedRevision: 1, events: events("Reserved"), snapshot: { revision: 2, version: 1, state: { nights: 3 } } },
        { streamId: extra, expectedRevision: 0, events: events("Counted") },
      ],
      request: { requestId: "multi-1", commandType: "t", aggregateId: "x", fingerprint: "f", result: { ok: true } },
    });
    assert.equal(outcome.kind, "appended");
    if (outcome.kind !== "appended") return;
    assert.equal(outcome.revision, 2);
    assert.equal(outcome.positions.length, 4);
    for (let i = 1; i < 4; i++) assert.equal(outcome.positions[i], outcome.positions[0] + i, "positions are consecutive");
    assert.deepEqual((await store().readStream(T, room)).map((e) => [e.revision, e.type]), [[1, "Opened"], [2, "Reserved"]]);
    assert.deepEqual((await store().readStream(T, extra)).map((e) => [e.revision, e.type, e.position]), [[1, "Counted", outcome.positions[3]]]);
    const all = await store().readAll(T, { fromPosition: outcome.positions[0] });
    assert.deepEqual(all.slice(0, 4).map((e) => e.type), ["Booked", "Noted", "Reserved", "Counted"]);
    assert.deepEqual((await store().loadSnapshot(T, room))?.state, { nights: 3 });
    assert.deepEqual((await store().findRequest(T, "multi-1"))?.positions, outcome.positions);
  });

  it("refuses the whole append when the guard fails on its second stream, naming it, and writes nothing", async () => {
    const [own, first, second] = [fresh("booking"), fresh("room"), fresh("room")];
    await store().append({ tenant: T, streamId: second, expectedRevision: 0, events: events("Opened", "Reserved") });
    const head = await store().headPosition();
    const outcome = await store().append({
      tenant: T,
      streamId: own,
      expectedRevision: 0,
      events: events("Booked"),
      otherStreams: [
        { streamId: first, expectedRevision: 0, events: events("Reserved"), snapshot: { revision: 1, version: 1, state: {} } },
        { streamId: second, expectedRevision: 1, events: events("Reserved") },
      ],
      request: { requestId: "multi-2", commandType: "t", aggregateId: "x", fingerprint: "f", result: {} },
    });
    assert.deepEqual(outcome, { kind: "conflict", actualRevision: 2, streamId: second });
    assert.equal(await store().streamRevision(T, own), 0);
    assert.equal(await store().streamRevision(T, first), 0);
    assert.equal(await store().streamRevision(T, second), 2);
    assert.equal(await store().loadSnapshot(T, first), undefined);
    assert.equal(await store().findRequest(T, "multi-2"), undefined);
    assert.equal(await store().headPosition(), head);
  });

  it("refuses the whole append when the guard fails on the stream right after its own, which already has events, and writes nothing", async () => {
    const [own, room] = [fresh("booking"), fresh("room")];
    await store().append({ tenant: T, streamId: own, expectedRevision: 0, events: events("Opened") });
    await store().append({ tenant: T, streamId: room, expectedRevision: 0, events: events("Opened", "Reserved") });
    const head = await store().headPosition();
    const outcome = await store().append({
      tenant: T,
      streamId: own,
      expectedRevision: 1,
      events: events("Booked"),
      snapshot: { revision: 2, version: 1, state: { booked: true } },
      otherStreams: [{ streamId: room, expectedRevision: 1, events: events("Reserved") }],
      request: { requestId: `multi-3-${own}`, commandType: "t", aggregateId: "x", fingerprint: "f", result: {} },
    });
    assert.deepEqual(outcome, { kind: "conflict", actualRevision: 2, streamId: room });
    assert.deepEqual((await store().readStream(T, own)).map((e) => e.type), ["Opened"]);
    assert.deepEqual((await store().readStream(T, room)).map((e) => e.type), ["Opened", "Reserved"]);
    assert.equal(await store().loadSnapshot(T, own), undefined);
    assert.equal(await store().findRequest(T, `multi-3-${own}`), undefined);
    assert.equal(await store().headPosition(), head);
  });

  it("lets exactly one of racing appends over a shared second stream win; the others write nothing, on either stream", async () => {
    const room = fresh("room");
    const head = await store().headPosition();
    const owns = Array.from({ length: 12 }, () => fresh("booking"));
    const outcomes = await Promise.all(
      owns.map((own) =>
        store().append({
          tenant: T,
          streamId: own,
          expectedRevision: 0,
          events: events("Booked"),
          otherStreams: [{ streamId: room, expectedRevision: 0, events: events("Reserved") }],
          request: { requestId: `race-${own}`, commandType: "t", aggregateId: own, fingerprint: "f", result: {} },
        }),
      ),
    );
    assert.equal(outcomes.filter((o) => o.kind === "appended").length, 1);
    for (const o of outcomes.filter((o) => o.kind === "conflict")) assert.deepEqual(o, { kind: "conflict", actualRevision: 1, streamId: room });
    assert.equal(await store().streamRevision(T, room), 1);
    for (const [i, own] of owns.entries()) {
      const won = outcomes[i].kind === "appended";
      assert.equal(await store().streamRevision(T, own), won ? 1 : 0, own);
      assert.equal((await store().findRequest(T, `race-${own}`)) !== undefined, won, `request of ${own}`);
    }
    assert.equal(await store().headPosition(), head + 2, "the winner's two events, and no other");
  });

  it("undoes every stream of an append that fails partway on its second stream", async () => {
    const [own, room, taken] = [fresh("booking"), fresh("room"), randomUUID()];
    await store().append({ tenant: T, streamId: fresh("s"), expectedRevision: 0, events: [{ ...events("A")[0], id: taken }] });
    const failing = store().append({
      tenant: T,
      streamId: own,
      expectedRevision: 0,
      events: events("Booked"),
      otherStreams: [{ streamId: room, expectedRevision: 0, events: [...events("Reserved"), { ...events("B")[0], id: taken }] }],
    });
    await assert.rejects(failing, /events[._]id/);
    assert.equal(await store().streamRevision(T, own), 0);
    assert.equal(await store().streamRevision(T, room), 0);
  });
}
