/** The booking domain: two aggregates (a booking, a room's nights), three commands. */
export { booking, type BookingState, type BookingStatus } from "./booking.js";
export { room, type NightsReleased, type NightsReserved, type Reservation, type RoomEvent, type RoomState } from "./room.js";
export type { BookingEvent, BookingCancelled, BookingFullyPaid, BookingOverpaid, PaymentRecorded, RoomBooked } from "./events.js";
export { SCOPES, readOwnBooking, writeOwnBooking } from "./policies.js";
export { bookRoom } from "./commands/book-room.js";
export { recordPayment } from "./commands/record-payment.js";
export { cancelBooking } from "./commands/cancel-booking.js";

import { bookRoom } from "./commands/book-room.js";
import { cancelBooking } from "./commands/cancel-booking.js";
import { recordPayment } from "./commands/record-payment.js";

/** Every booking command, for registering with an app. */
export const bookingCommands = [bookRoom, recordPayment, cancelBooking] as const;
