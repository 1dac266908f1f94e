/** How the booking domain is tuned by the service's configuration, handed to deciders as a port. */
export interface BookingSettings {
  /** How long a booking may stay not fully paid before CancelUnpaidBooking cancels it, in ms. */
  readonly unpaidBookingTtlMs: number;
}

/** The port's name in Collaborators.ports. */
export const BOOKING_SETTINGS_PORT = "bookingSettings";

/** 48 hours: the default time a guest has to pay. */
export const DEFAULT_BOOKING_SETTINGS: BookingSettings = Object.freeze({ unpaidBookingTtlMs: 48 * 60 * 60 * 1000 });

/** The settings among a decider's ports, or the defaults when none are given (tests, in-process apps). */
export function bookingSettingsOf(ports: Readonly<Record<string, unknown>>): BookingSettings {
  return (ports[BOOKING_SETTINGS_PORT] as BookingSettings | undefined) ?? DEFAULT_BOOKING_SETTINGS;
}
