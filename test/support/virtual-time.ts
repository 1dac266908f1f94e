import type { Timer } from "../../src/scheduler/timer.js";

/** A clock and a timer that move only when a test says so. */
export interface VirtualTime {
  readonly clock: () => Date;
  readonly timer: Timer;
  /** Moves the clock forward by `ms`, firing each timer as its time is passed, in time order. */
  advance(ms: number): void;
  /** Moves the clock to an instant (never back). */
  advanceTo(at: number): void;
  now(): number;
}

/** Virtual time starting at `start` (an ISO instant). */
export function virtualTime(start = "2030-01-01T00:00:00Z"): VirtualTime {
  let current = Date.parse(start);
  let nextHandle = 0;
  const waiting = new Map<number, { at: number; run: () => void }>();
  const advanceTo = (at: number) => {
    for (;;) {
      const due = [...waiting.entries()].filter(([, w]) => w.at <= at).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      waiting.delete(due[0]);
      current = Math.max(current, due[1].at);
      due[1].run();
    }
    current = Math.max(current, at);
  };
  return {
    clock: () => new Date(current),
    timer: {
      set(run, ms) {
        const handle = ++nextHandle;
        waiting.set(handle, { at: current + ms, run });
        // A timer already due fires on the next turn, as a real one would, without the clock moving.
        if (ms <= 0) setImmediate(() => advanceTo(current));
        return handle;
      },
      clear(handle) {
        waiting.delete(handle as number);
      },
    },
    advance: (ms) => advanceTo(current + ms),
    advanceTo,
    now: () => current,
  };
}
