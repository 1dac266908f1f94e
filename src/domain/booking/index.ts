/** The booking domain: one aggregate, three commands. */
export { booking, type BookingState, type BookingStatus } from "./booking.js";
export type { BookingEvent, BookingCancelled, BookingFullyPaid, PaymentRecorded, RoomBooked } from "./events.js";
export { SCOPES, readOwnBooking, writeOwnBooking } from "./policies.js";
export { bookRoom } from "./commands/book-room.js";
export { recordPayment } from "./commands/record-payment.js";
export { cancelBooking } from "./commands/cancel-booking.js";
export { bookingsProjection, type BookingDocument } from "./read-models/bookings.js";
export { guestStaysProjection, type GuestStaysDocument } from "./read-models/guest-stays.js";

import { bookRoom } from "./commands/book-room.js";
import { cancelBooking } from "./commands/cancel-booking.js";
import { recordPayment } from "./commands/record-payment.js";

/** Every booking command, for registering with an app. */
export const bookingCommands = [bookRoom, recordPayment, cancelBooking] as const;

import { bookingsProjection } from "./read-models/bookings.js";
import { guestStaysProjection } from "./read-models/guest-stays.js";

/** The booking domain's read models: `bookings` inline, `guest_stays` async. */
export const bookingProjections = [bookingsProjection, guestStaysProjection] as const;
