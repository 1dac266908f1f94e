/** The booking domain: two aggregates (a booking, a room's nights), its commands, its read models, and the reaction that confirms paid bookings. */
export { booking, type BookingState, type BookingStatus } from "./booking.js";
export { room, type NightsReleased, type NightsReserved, type Reservation, type RoomEvent, type RoomState } from "./room.js";
export type { BookingEvent, BookingCancelled, BookingConfirmed, BookingFullyPaid, BookingOverpaid, PaymentRecorded, RoomBooked } from "./events.js";
export { SCOPES, readOwnBooking, writeOwnBooking } from "./policies.js";
export { bookRoom } from "./commands/book-room.js";
export { recordPayment } from "./commands/record-payment.js";
export { cancelBooking } from "./commands/cancel-booking.js";
export { confirmBooking } from "./commands/confirm-booking.js";
export { cancelUnpaidBooking, UNPAID } from "./commands/cancel-unpaid-booking.js";
export { BOOKING_SETTINGS_PORT, bookingSettingsOf, DEFAULT_BOOKING_SETTINGS, type BookingSettings } from "./settings.js";
export { confirmPaidBookings } from "./reactions/confirm-paid-bookings.js";
export type { BookingConfirmedNotice, BookingPorts, GuestNotifier } from "./guest-notifier.js";
export { bookingsProjection, type BookingDocument } from "./read-models/bookings.js";
export { guestStaysProjection, type GuestStaysDocument } from "./read-models/guest-stays.js";

import { bookRoom } from "./commands/book-room.js";
import { cancelBooking } from "./commands/cancel-booking.js";
import { cancelUnpaidBooking } from "./commands/cancel-unpaid-booking.js";
import { confirmBooking } from "./commands/confirm-booking.js";
import { confirmPaidBookings } from "./reactions/confirm-paid-bookings.js";
import { recordPayment } from "./commands/record-payment.js";
import { bookingsProjection } from "./read-models/bookings.js";
import { guestStaysProjection } from "./read-models/guest-stays.js";

/** Every booking command, for registering with an app. */
export const bookingCommands = [bookRoom, recordPayment, cancelBooking, cancelUnpaidBooking, confirmBooking] as const;

/** Every booking reaction, for the runners (reactions/start-reactions.ts). */
export const bookingReactions = [confirmPaidBookings] as const;

/** The booking domain's read models: `bookings` inline, `guest_stays` async. */
export const bookingProjections = [bookingsProjection, guestStaysProjection] as const;
