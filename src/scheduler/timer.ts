/**
 * Waiting, as a collaborator: the scheduler arms one of these instead of calling setTimeout,
 * so tests run it on virtual time (advance the clock, fire what is due) instead of sleeping.
 */
export interface Timer {
  /** Calls `run` once after `ms`; the handle cancels it. */
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Node's timers, unref'd: a waiting scheduler does not keep the process alive. */
export const systemTimer: Timer = Object.freeze({
  set: (run: () => void, ms: number) => setTimeout(run, ms).unref(),
  clear: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
});
