/**
 * Tracks calls in flight across both servers, so shutdown can refuse new calls, end the
 * open streams and wait for the running unary calls.
 */
export function createDrain() {
  let inFlight = 0;
  let draining = false;
  let idle: (() => void) | undefined;
  /** How to end each open stream, called once when draining starts. */
  const streams = new Set<() => void>();

  function enter(): () => void {
    inFlight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      inFlight--;
      if (inFlight === 0) idle?.();
    };
  }

  return {
    get draining(): boolean {
      return draining;
    },
    get inFlight(): number {
      return inFlight;
    },
    /** Marks a call started; returns the function that marks it finished. */
    enter,
    /**
     * Marks a stream started: `end` is called once draining starts (the stream then finishes
     * promptly on its own). Returns the function that marks it finished.
     */
    enterStream(end: () => void): () => void {
      const leave = enter();
      streams.add(end);
      return () => {
        streams.delete(end);
        leave();
      };
    },
    /** Stops admitting calls and ends open streams; resolves when none are in flight or after `timeoutMs`. */
    drain(timeoutMs: number): Promise<boolean> {
      draining = true;
      for (const end of [...streams]) end();
      streams.clear();
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
