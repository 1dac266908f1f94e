/**
 * Tracks calls in flight across both servers, so shutdown can refuse new calls and wait
 * for the running ones.
 */
export function createDrain() {
  let inFlight = 0;
  let draining = false;
  let idle: (() => void) | undefined;
  return {
    get draining(): boolean {
      return draining;
    },
    get inFlight(): number {
      return inFlight;
    },
    /** Marks a call started; returns the function that marks it finished. */
    enter(): () => void {
      inFlight++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        inFlight--;
        if (inFlight === 0) idle?.();
      };
    },
    /** Stops admitting calls; resolves when none are in flight or after `timeoutMs`. */
    drain(timeoutMs: number): Promise<boolean> {
      draining = true;
      if (inFlight === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        idle = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
    },
  };
}

export type Drain = ReturnType<typeof createDrain>;
