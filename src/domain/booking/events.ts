import type { DomainEvent } from "../../kernel/events.js";
import type { Money } from "../values/money.js";

/** A room was booked for a stay at a price. */
export type RoomBooked = DomainEvent<
  "RoomBooked",
  { bookingId: string; roomId: string; guestId: string; checkIn: string; checkOut: string; price: Money }
>;
/** A payment was received for a booking. */
export type PaymentRecorded = DomainEvent<"PaymentRecorded", { bookingId: string; paymentId: string; amount: Money; paidAt: string }>;
/** The payments received reached the booking's price. */
export type BookingFullyPaid = DomainEvent<"BookingFullyPaid", { bookingId: string; paid: Money }>;
/** A payment went beyond what was still owed; `excess` is the part of it to refund. */
export type BookingOverpaid = DomainEvent<"BookingOverpaid", { bookingId: string; paymentId: string; excess: Money }>;
/** The booking was cancelled. */
export type BookingCancelled = DomainEvent<"BookingCancelled", { bookingId: string; reason: string; cancelledAt: string }>;

/** A booking paid in full was confirmed; it carries what the guest is told. */
export type BookingConfirmed = DomainEvent<
  "BookingConfirmed",
  { bookingId: string; guestId: string; roomId: string; checkIn: string; checkOut: string; confirmedAt: string }
>;

export type BookingEvent = RoomBooked | PaymentRecorded | BookingFullyPaid | BookingOverpaid | BookingCancelled | BookingConfirmed;
