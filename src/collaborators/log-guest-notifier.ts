import type { Logger } from "pino";
import type { GuestNotifier } from "../domain/booking/guest-notifier.js";

/** The default GuestNotifier: one log line per notice, for development and demos. */
export function logGuestNotifier(logger: Logger): GuestNotifier {
  return {
    async bookingConfirmed(notice, { idempotencyKey }) {
      logger.info({ notice, idempotencyKey }, "guest notified: booking confirmed");
    },
  };
}
