import type { CallContext } from "../../kernel/reaction.js";

/** What a guest is told when their booking is confirmed. */
export interface BookingConfirmedNotice {
  readonly tenant: string;
  readonly bookingId: string;
  readonly guestId: string;
  readonly roomId: string;
  readonly checkIn: string;
  readonly checkOut: string;
  readonly confirmedAt: string;
}

/**
 * The port through which the booking domain tells guests about their bookings. Which
 * implementation runs is configuration (GUEST_NOTIFIER: a log line or a webhook); tests put
 * a recording fake in its place. A method resolves once the notice was handed over and
 * throws when it could not be.
 */
export interface GuestNotifier {
  bookingConfirmed(notice: BookingConfirmedNotice, context: CallContext): Promise<void>;
}

/** The ports the booking domain's reactions call, by name. */
export interface BookingPorts {
  readonly guestNotifier: GuestNotifier;
}
