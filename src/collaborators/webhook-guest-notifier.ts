import pRetry, { AbortError } from "p-retry";
import type { GuestNotifier } from "../domain/booking/guest-notifier.js";
import { timeoutSignal } from "../kernel/timeout-signal.js";

/** How the webhook GuestNotifier reaches its receiver. */
export interface WebhookOptions {
  readonly url: string;
  /** Longest one POST may take, answer included, in ms. */
  readonly timeoutMs: number;
  /** POSTs tried in all before the notice counts as not delivered. */
  readonly attempts: number;
  /** Wait before the first retry, in ms; each later one waits twice as long (250 ms by default). */
  readonly firstBackoffMs?: number;
}

/** Why a webhook did not take a notice; `reason` is stable. */
export class WebhookError extends Error {
  override readonly name = "WebhookError";
  constructor(
    /** WEBHOOK_REFUSED (a 4xx other than 408 and 429: retrying will not help) or WEBHOOK_UNREACHABLE. */
    readonly reason: "WEBHOOK_REFUSED" | "WEBHOOK_UNREACHABLE",
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * A GuestNotifier that POSTs each notice as JSON ({"event": "BookingConfirmed", "notice": …})
 * to a configured URL, with an Idempotency-Key header that is the same for every delivery of
 * one notice. A POST that times out, cannot connect, or is answered 408, 429 or 5xx is tried
 * again with exponential backoff; any other 4xx is final.
 */
export function webhookGuestNotifier(options: WebhookOptions): GuestNotifier {
  return {
    bookingConfirmed: (notice, context) => post(options, "BookingConfirmed", notice, context.idempotencyKey, context.signal),
  };
}

async function post(options: WebhookOptions, event: string, notice: unknown, idempotencyKey: string, signal: AbortSignal): Promise<void> {
  const body = JSON.stringify({ event, notice });
  const once = async () => {
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": idempotencyKey },
        body,
        signal: AbortSignal.any([signal, timeoutSignal(options.timeoutMs)]),
      });
    } catch (error) {
      if (signal.aborted) throw new AbortError(signal.reason instanceof Error ? signal.reason : "stopped");
      const why = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${options.timeoutMs} ms` : String((error as Error).cause ?? error);
      throw new WebhookError("WEBHOOK_UNREACHABLE", `guest notifier webhook ${options.url}: ${why}`);
    }
    await response.body?.cancel();
    if (response.ok) return;
    const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
    const failure = new WebhookError(retryable ? "WEBHOOK_UNREACHABLE" : "WEBHOOK_REFUSED", `guest notifier webhook ${options.url} answered ${response.status}`, response.status);
    throw retryable ? failure : new AbortError(failure);
  };
  // A final answer is thrown as an AbortError, which p-retry unwraps: the caller sees the WebhookError.
  await pRetry(once, { retries: options.attempts - 1, minTimeout: options.firstBackoffMs ?? 250, factor: 2, randomize: true, signal });
}
