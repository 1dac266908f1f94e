import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

/** Polls `check` every 50 ms until it holds; fails naming `what` after `ms`. */
export async function eventually(what: string, check: () => Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`${what} did not happen within ${ms} ms`);
    await sleep(50);
  }
}
