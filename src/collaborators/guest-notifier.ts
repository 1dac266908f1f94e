import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { GuestNotifier } from "../domain/booking/guest-notifier.js";
import { logGuestNotifier } from "./log-guest-notifier.js";
import { webhookGuestNotifier } from "./webhook-guest-notifier.js";

/** The GuestNotifier the configuration chooses (GUEST_NOTIFIER): a log line by default, or a webhook. */
export function guestNotifierOf(config: Pick<Config, "GUEST_NOTIFIER" | "GUEST_NOTIFIER_URL" | "GUEST_NOTIFIER_TIMEOUT_MS" | "GUEST_NOTIFIER_ATTEMPTS">, logger: Logger): GuestNotifier {
  if (config.GUEST_NOTIFIER === "webhook") {
    return webhookGuestNotifier({ url: config.GUEST_NOTIFIER_URL!, timeoutMs: config.GUEST_NOTIFIER_TIMEOUT_MS, attempts: config.GUEST_NOTIFIER_ATTEMPTS });
  }
  return logGuestNotifier(logger);
}
