import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { PaymentIds } from "../../src/domain/booking/payment-ids.js";

/** The ids once each, where each first appeared. */
const firstSeen = (ids: string[]) => [...new Set(ids)];

describe("a booking's payment ids", () => {
  it("keep the order they were added in, each id once, added one by one or all at once", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("P1", "P2", "P3", "P4", "P5", "a", "b", ""), { maxLength: 30 }), (ids) => {
        const added = ids.reduce((set, id) => set.add(id), PaymentIds.none);
        assert.deepEqual([...added], firstSeen(ids));
        assert.deepEqual([...PaymentIds.of(ids)], firstSeen(ids));
        assert.equal(added.size, firstSeen(ids).length);
        for (const id of ids) assert.equal(added.has(id), true);
        assert.equal(added.has("never added"), false);
      }),
    );
  });

  it("stay right across the batches in which recent ids go into the set, and every earlier value stays as it was", () => {
    const limit = PaymentIds.RECENT_LIMIT;
    // Mostly new ids, some repeated, long enough to cross several batches of `limit`.
    const id = fc.oneof(fc.integer({ min: 0, max: 400 }).map((n) => `P-${n}`), fc.string({ maxLength: 3 }));
    fc.assert(
      fc.property(fc.array(id, { minLength: limit * 3, maxLength: limit * 5 }), fc.array(id, { maxLength: limit }), (ids, start) => {
        const versions = [PaymentIds.of(start)];
        for (const added of ids) versions.push(versions[versions.length - 1].add(added));
        versions.forEach((version, i) => {
          const expected = firstSeen([...start, ...ids.slice(0, i)]);
          assert.deepEqual([...version], expected);
          assert.equal(version.size, expected.length);
          for (const known of expected) assert.equal(version.has(known), true);
          assert.equal(version.has("never added"), false);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("keep each value's own ids when an earlier value is added to again, as after an append that was dropped", () => {
    // Values share one array of ids in order; adding to a value that is no longer the newest
    // must not show it the ids its dropped successors added, nor show them its own.
    const id = fc.oneof(fc.integer({ min: 0, max: 60 }).map((n) => `P-${n}`), fc.constantFrom("", "a"));
    const step = fc.tuple(fc.nat(), id);
    fc.assert(
      fc.property(fc.array(id, { maxLength: 40 }), fc.array(step, { minLength: 1, maxLength: PaymentIds.RECENT_LIMIT * 4 }), (start, steps) => {
        const versions = [PaymentIds.of(start)];
        const expected = [firstSeen(start)];
        for (const [pick, added] of steps) {
          const from = pick % versions.length;
          versions.push(versions[from].add(added));
          expected.push(firstSeen([...expected[from], added]));
        }
        const everyId = new Set([...start, ...steps.map(([, added]) => added)]);
        versions.forEach((version, i) => {
          assert.deepEqual([...version], expected[i]);
          assert.deepEqual(version.toJSON(), expected[i]);
          assert.equal(version.size, expected[i].length);
          for (const known of everyId) assert.equal(version.has(known), expected[i].includes(known), `value ${i} has ${JSON.stringify(known)}`);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("are held by a snapshot as a JSON array and come back the same", () => {
    const ids = PaymentIds.of(["P3", "P1", "P2"]).add("P0").add("P1");
    const json = JSON.parse(JSON.stringify({ paymentIds: ids })) as { paymentIds: string[] };
    assert.deepEqual(json.paymentIds, ["P3", "P1", "P2", "P0"]);
    assert.deepEqual([...PaymentIds.of(json.paymentIds)], ["P3", "P1", "P2", "P0"]);
  });

  it("leave an earlier value unchanged when an id is added", () => {
    const before = PaymentIds.of(["P1"]);
    const after = before.add("P2");
    assert.deepEqual([[...before], [...after]], [["P1"], ["P1", "P2"]]);
    assert.equal(after.add("P1"), after, "adding an id already there changes nothing");
  });
});
