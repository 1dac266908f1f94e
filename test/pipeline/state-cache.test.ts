import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CHARS_PER_EVENT_UNSNAPSHOTTED, createStateCache, stateWeight } from "../../src/pipeline/state-cache.js";

const state = (revision: number, snapshotSize?: number) => ({ state: { revision }, revision, snapshotSize });

describe("state cache", () => {
  it("weighs a state by its last snapshot, or by its revision before it has one", () => {
    assert.equal(stateWeight(state(300, 12_345)), 12_345);
    assert.equal(stateWeight(state(7)), 7 * CHARS_PER_EVENT_UNSNAPSHOTTED);
  });

  it("pushes out the least recently used states once their weight passes the budget", () => {
    const cache = createStateCache({ maxEntries: 100, maxChars: 10_000 });
    cache.set("a", state(1, 4_000));
    cache.set("b", state(1, 4_000));
    assert.ok(cache.get("a"), "a is now the most recently used");
    cache.set("c", state(1, 4_000));
    assert.deepEqual(["a", "b", "c"].map((k) => cache.get(k) !== undefined), [true, false, true]);
    assert.deepEqual([cache.size, cache.chars], [2, 8_000]);
    // A state that grew (a later snapshot) weighs its new size: it pushes out the other one.
    cache.set("c", state(2, 9_000));
    assert.deepEqual(["a", "c"].map((k) => cache.get(k) !== undefined), [false, true]);
    assert.equal(cache.chars, 9_000);
  });

  it("does not keep a state heavier than the whole budget, nor an older revision it held", () => {
    const cache = createStateCache({ maxEntries: 100, maxChars: 10_000 });
    cache.set("small", state(1, 500));
    cache.set("long", state(100, 5_000));
    cache.set("long", state(200, 10_001));
    assert.equal(cache.get("long"), undefined, "the stale revision 100 is gone too");
    assert.equal(cache.get("small")?.revision, 1, "and the others stay");
  });

  it("still holds at most maxEntries states, and keeps a later revision over an earlier one", () => {
    const cache = createStateCache({ maxEntries: 2, maxChars: 1_000_000 });
    for (const key of ["a", "b", "c"]) cache.set(key, state(1, 10));
    assert.deepEqual(["a", "b", "c"].map((k) => cache.get(k) !== undefined), [false, true, true]);
    cache.set("b", state(5, 10));
    cache.set("b", state(4, 10));
    assert.equal(cache.get("b")?.revision, 5);
  });

  it("keeps nothing with either limit at 0", () => {
    for (const limits of [{ maxEntries: 0, maxChars: 1_000 }, { maxEntries: 10, maxChars: 0 }]) {
      const cache = createStateCache(limits);
      cache.set("a", state(1, 1));
      assert.deepEqual([cache.get("a"), cache.size, cache.chars], [undefined, 0, 0]);
    }
  });
});
