import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import type { DocumentQuery, DocumentWrite, EventStore } from "../../src/store/event-store.js";

/** A collection no other test uses, so the suite can share one store. */
const freshCollection = () => `c_${randomUUID().replaceAll("-", "")}`;

const event = (tenant: string) => [{ id: randomUUID(), type: "Happened", data: {}, metadata: { tenant } as never }];

/**
 * The read-model half of the store contract: documents written with appends under their
 * version guard, keyset finds with filters and orders, and async projections' commits under
 * a lease. `store` is called inside each test (the suite opens its store in a before hook).
 */
export function documentContract(store: () => EventStore): void {
  const T = "tenant-d";
  /** Writes documents in an append of one event to a new stream. */
  const write = (tenant: string, documents: DocumentWrite[]) =>
    store().append({ tenant, streamId: `s-${randomUUID()}`, expectedRevision: 0, events: event(tenant), documents });
  const find = (collection: string, query: Partial<DocumentQuery>, tenant = T) => store().findDocuments!(tenant, collection, { limit: 100, ...query });
  const ids = async (collection: string, query: Partial<DocumentQuery>, tenant = T) => (await find(collection, query, tenant)).map((d) => d.id);

  describe("documents", () => {
    it("writes documents in the append, bumps their version, deletes with null, and keeps tenants apart", async () => {
      const c = freshCollection();
      assert.equal((await write(T, [{ collection: c, id: "a", document: { n: 1 }, fields: { n: 1 } }])).kind, "appended");
      assert.deepEqual(await store().fetchDocument!(T, c, "a"), { id: "a", version: 1, data: { n: 1 } });
      assert.equal(await store().fetchDocument!("other", c, "a"), undefined);
      await write(T, [{ collection: c, id: "a", expectedVersion: 1, document: { n: 2 }, fields: { n: 2 } }]);
      assert.deepEqual(await store().fetchDocument!(T, c, "a"), { id: "a", version: 2, data: { n: 2 } });
      assert.deepEqual(await ids(c, { where: [{ field: "n", op: "eq", value: 2 }] }), ["a"]);
      assert.deepEqual(await ids(c, { where: [{ field: "n", op: "eq", value: 1 }] }), [], "the old field value is gone");
      await write(T, [{ collection: c, id: "a", expectedVersion: 2, document: null, fields: {} }]);
      assert.equal(await store().fetchDocument!(T, c, "a"), undefined);
      assert.deepEqual(await ids(c, {}), []);
      assert.deepEqual(await ids(c, { orderBy: { field: "n", numeric: true, direction: "asc" } }), []);
    });

    it("turns the whole append away when a document changed since it was read, naming it; nothing is written", async () => {
      const c = freshCollection();
      await write(T, [{ collection: c, id: "a", document: { n: 1 }, fields: {} }]);
      const stream = `s-${randomUUID()}`;
      const stale = await store().append({
        tenant: T,
        streamId: stream,
        expectedRevision: 0,
        events: event(T),
        documents: [
          { collection: c, id: "b", document: { n: 1 }, fields: {} },
          { collection: c, id: "a", expectedVersion: 0, document: { n: 9 }, fields: {} },
        ],
      });
      assert.deepEqual(stale, { kind: "conflict", actualRevision: 0, document: { collection: c, id: "a" } });
      assert.equal(await store().streamRevision(T, stream), 0, "no event written");
      assert.equal(await store().fetchDocument!(T, c, "b"), undefined, "no other document written");
      const exists = await write(T, [{ collection: c, id: "a", document: { n: 2 }, fields: {} }]);
      assert.equal(exists.kind === "conflict" && exists.document?.id, "a", "a new document that exists conflicts");
    });

    it("lets exactly one of racing writers of the same document win", async () => {
      const c = freshCollection();
      await write(T, [{ collection: c, id: "guest", document: { stays: 0 }, fields: {} }]);
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) => write(T, [{ collection: c, id: "guest", expectedVersion: 1, document: { stays: i }, fields: {} }])),
      );
      assert.equal(outcomes.filter((o) => o.kind === "appended").length, 1);
      assert.equal((await store().fetchDocument!(T, c, "guest"))?.version, 2);
    });

    it("filters by equality, ranges and in, over strings and numbers", async () => {
      const c = freshCollection();
      const rows = [
        ["a", "paid", 10],
        ["b", "open", 20],
        ["c", "open", 30],
        ["d", "cancelled", 40],
      ] as const;
      await write(T, rows.map(([id, status, amount]) => ({ collection: c, id, document: { status, amount }, fields: { status, amount } })));
      assert.deepEqual(await ids(c, { where: [{ field: "status", op: "eq", value: "open" }] }), ["b", "c"]);
      assert.deepEqual(await ids(c, { where: [{ field: "amount", op: "gt", value: 10 }, { field: "amount", op: "lte", value: 30 }] }), ["b", "c"]);
      assert.deepEqual(await ids(c, { where: [{ field: "amount", op: "gte", value: 30 }] }), ["c", "d"]);
      assert.deepEqual(await ids(c, { where: [{ field: "amount", op: "lt", value: 20 }] }), ["a"]);
      assert.deepEqual(await ids(c, { where: [{ field: "status", op: "in", values: ["paid", "cancelled"] }] }), ["a", "d"]);
      assert.deepEqual(await ids(c, { where: [{ field: "amount", op: "in", values: [20, 40, 50] }] }), ["b", "d"]);
      assert.deepEqual(await ids(c, { where: [{ field: "status", op: "in", values: [] }] }), []);
      assert.deepEqual(await ids(c, { where: [{ field: "status", op: "eq", value: "open" }, { field: "amount", op: "eq", value: 30 }] }), ["c"]);
      assert.deepEqual(await ids(c, { where: [{ field: "status", op: "eq", value: "open" }] }, "other"), [], "another tenant sees none");
    });

    it("orders by a field either way with the id breaking ties, leaves out documents without it, and pages by keyset", async () => {
      const c = freshCollection();
      const dates = ["2026-03-02", "2026-03-01", "2026-03-02", "2026-03-03", "2026-03-01", undefined];
      await write(
        T,
        dates.map((date, i) => ({ collection: c, id: `b${i}`, document: { date }, fields: date ? { date, nights: i } : ({} as Record<string, never>) })),
      );
      const asc = ["b1", "b4", "b0", "b2", "b3"];
      assert.deepEqual(await ids(c, { orderBy: { field: "date", numeric: false, direction: "asc" } }), asc);
      assert.deepEqual(await ids(c, { orderBy: { field: "date", numeric: false, direction: "desc" } }), [...asc].reverse());
      assert.deepEqual(await ids(c, { orderBy: { field: "nights", numeric: true, direction: "desc" } }), ["b4", "b3", "b2", "b1", "b0"]);
      const ordered = await find(c, { orderBy: { field: "date", numeric: false, direction: "asc" } });
      assert.equal(ordered[2].orderValue, "2026-03-02");
      for (const direction of ["asc", "desc"] as const) {
        const seen: string[] = [];
        let after: DocumentQuery["after"];
        for (;;) {
          const page = await find(c, { orderBy: { field: "date", numeric: false, direction }, after, limit: 2 });
          if (page.length === 0) break;
          seen.push(...page.map((d) => d.id));
          const last = page[page.length - 1];
          after = { value: last.orderValue, id: last.id };
        }
        assert.deepEqual(seen, direction === "asc" ? asc : [...asc].reverse());
      }
      const byId = await ids(c, { after: { id: "b2" }, limit: 2 });
      assert.deepEqual(byId, ["b3", "b4"]);
      assert.deepEqual(await ids(c, { idDirection: "desc", after: { id: "b2" } }), ["b1", "b0"]);
      assert.deepEqual(
        await ids(c, { orderBy: { field: "date", numeric: false, direction: "asc" }, where: [{ field: "date", op: "gte", value: "2026-03-02" }, { field: "nights", op: "lt", value: 3 }] }),
        ["b0", "b2"],
      );
    });

    it("commits an async projection's documents and checkpoint under a lease, and refuses another owner or a checkpoint moved meanwhile", async () => {
      const s = store();
      const name = `projection-${randomUUID()}`;
      const c = freshCollection();
      assert.deepEqual(await s.claimConsumer!(name, "one", 60_000), { held: true, owner: "one", position: 0 });
      assert.deepEqual(await s.claimConsumer!(name, "two", 60_000), { held: false, owner: "one", position: 0 });
      assert.equal(await s.commitProjection!({ name, owner: "one", from: 0, position: 7, documents: [{ tenant: T, collection: c, id: "g", document: { n: 1 }, fields: { n: 1 } }] }), "committed");
      assert.equal(await s.consumerCheckpoint!(name), 7);
      assert.equal(await s.commitProjection!({ name, owner: "one", from: 3, position: 9, documents: [{ tenant: T, collection: c, id: "h", document: {}, fields: {} }] }), "lease-lost", "the checkpoint is not the one it goes on from");
      assert.equal(await s.commitProjection!({ name, owner: "two", from: 7, position: 9, documents: [{ tenant: T, collection: c, id: "h", document: {}, fields: {} }] }), "lease-lost");
      assert.equal(await s.fetchDocument!(T, c, "h"), undefined);
      assert.equal(await s.consumerCheckpoint!(name), 7);
      assert.deepEqual(await s.fetchDocument!(T, c, "g"), { id: "g", version: 1, data: { n: 1 } });
      // An expired lease may be taken over; the old owner's commit is then refused.
      await s.claimConsumer!(name, "one", 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(await s.claimConsumer!(name, "two", 60_000), { held: true, owner: "two", position: 7 });
      assert.equal(await s.commitProjection!({ name, owner: "one", from: 7, position: 8, documents: [] }), "lease-lost");
      await s.dropCollection!(c);
      const setting = `setting-${randomUUID()}`;
      assert.equal(await s.sharedSetting!(setting, "first"), "first");
      assert.equal(await s.sharedSetting!(setting, "second"), "first", "the first value stays");
      assert.equal(await s.fetchDocument!(T, c, "g"), undefined);
    });

    it("swaps a rebuilt collection in only for the rebuild whose consumer is at the head, and a late second rebuild leaves it be", async () => {
      const s = store();
      const target = freshCollection();
      const source = `${target}~rebuild`;
      const rebuildConsumer = `rebuild:${target}`;
      await write(T, []);
      const head = await s.headPosition();
      assert.equal((await s.claimConsumer!(rebuildConsumer, "one", 60_000)).held, true);
      assert.equal(await s.commitProjection!({ name: rebuildConsumer, owner: "one", from: 0, position: head - 1, documents: [{ tenant: T, collection: source, id: "g", document: { n: 1 }, fields: { n: 1 } }] }), "committed");
      assert.equal(await s.replaceCollection!({ target, source, head, rebuildConsumer, owner: "one" }), "moved", "its consumer is not at the head yet");
      assert.equal(await s.commitProjection!({ name: rebuildConsumer, owner: "one", from: head - 1, position: head, documents: [] }), "committed");
      // "one" gives its lease up to swap, and another rebuild of the same collection takes the consumer meanwhile.
      await s.claimConsumer!(rebuildConsumer, "one", 0);
      assert.deepEqual(await s.claimConsumer!(rebuildConsumer, "two", 60_000), { held: true, owner: "two", position: head });
      assert.equal(await s.replaceCollection!({ target, source, head, rebuildConsumer, owner: "one" }), "moved");
      assert.equal(await s.fetchDocument!(T, target, "g"), undefined);
      assert.equal(await s.claimConsumer!(rebuildConsumer, "two", 0).then((lease) => lease.held), true);
      assert.equal(await s.replaceCollection!({ target, source, head, rebuildConsumer, owner: "two" }), "replaced");
      assert.deepEqual(await s.fetchDocument!(T, target, "g"), { id: "g", version: 1, data: { n: 1 } });
      assert.equal(await s.fetchDocument!(T, source, "g"), undefined);
      assert.equal(await s.consumerCheckpoint!(rebuildConsumer), 0, "the rebuild's consumer is forgotten");
      // "one" tries again: its consumer is gone, so it does not swap the emptied source in.
      assert.equal(await s.replaceCollection!({ target, source, head, rebuildConsumer, owner: "one" }), "moved");
      assert.deepEqual(await s.fetchDocument!(T, target, "g"), { id: "g", version: 1, data: { n: 1 } });
      await s.dropCollection!(target);
    });
  });
}
