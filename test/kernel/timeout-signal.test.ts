import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { timeoutSignal } from "../../src/kernel/timeout-signal.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Whether a composite over `make()`'s signal aborts in time, with a full collection while it waits. */
async function abortsAfterCollection(make: (ms: number) => AbortSignal): Promise<boolean> {
  const composite = AbortSignal.any([new AbortController().signal, make(40)]);
  return new Promise((resolve) => {
    composite.addEventListener("abort", () => resolve((composite.reason as Error).name === "TimeoutError"), { once: true });
    setTimeout(gc, 5);
    setTimeout(() => resolve(false), 500);
  });
}

describe("timeoutSignal", () => {
  // Node's own AbortSignal.timeout fails this (0 of 5 rounds on Node 20): a composite holds its sources weakly.
  it("aborts a composite over it with a TimeoutError even when a collection runs meanwhile", async () => {
    for (let i = 0; i < 5; i++) assert.equal(await abortsAfterCollection(timeoutSignal), true, `round ${i}`);
  });
});
