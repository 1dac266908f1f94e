/**
 * A signal that aborts after `ms` with a TimeoutError, as AbortSignal.timeout's does, but
 * held by its timer. Node holds AbortSignal.timeout's signal weakly, so one that only an
 * AbortSignal.any composite refers to can be collected before it fires, and the composite
 * then never aborts (a min_position read then ran into its call's deadline).
 * The timer is unref'd: a pending one keeps no process alive.
 */
export function timeoutSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError")), ms).unref();
  return controller.signal;
}
