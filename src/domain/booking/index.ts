/** The booking domain: one aggregate, four commands. */
export { booking, type BookingState, type BookingStatus } from "./booking.js";
export type { BookingEvent, BookingCancelled, BookingFullyPaid, PaymentRecorded, RoomBooked } from "./events.js";
export { SCOPES, readOwnBooking, writeOwnBooking } from "./policies.js";
export { bookRoom } from "./commands/book-room.js";
export { recordPayment } from "./commands/record-payment.js";
export { cancelBooking } from "./commands/cancel-booking.js";
export { cancelUnpaidBooking, UNPAID } from "./commands/cancel-unpaid-booking.js";
export { BOOKING_SETTINGS_PORT, bookingSettingsOf, DEFAULT_BOOKING_SETTINGS, type BookingSettings } from "./settings.js";

import { bookRoom } from "./commands/book-room.js";
import { cancelBooking } from "./commands/cancel-booking.js";
import { cancelUnpaidBooking } from "./commands/cancel-unpaid-booking.js";
import { recordPayment } from "./commands/record-payment.js";

/** Every booking command, for registering with an app. */
export const bookingCommands = [bookRoom, recordPayment, cancelBooking, cancelUnpaidBooking] as const;
