import { defineProjection } from "../../../kernel/projection.js";
import type { Money } from "../../values/money.js";
import type { PaymentRecorded } from "../events.js";

/** One payment of a booking, as GetBooking lists it. */
export interface BookingPaymentDocument {
  readonly bookingId: string;
  readonly paymentId: string;
  readonly amount: Money;
  /** When the guest paid, as the payment provider says. */
  readonly paidAt: string;
  /** The booking stream's revision of the payment: a booking's payments in the order they were recorded. */
  readonly revision: number;
  /** When the payment was recorded: its event's time. */
  readonly recordedAt: string;
}

/** A payment's document id: booking and payment ids hold no "/", so no two payments share one. */
export function bookingPaymentIdOf(bookingId: string, paymentId: string): string {
  return `${bookingId}/${paymentId}`;
}

/**
 * The `booking_payments` read model, inline: one document per payment, written in the
 * transaction of its event and never changed after, so recording a payment costs the same
 * on a booking's ten-thousandth payment as on its first (the `bookings` document listed
 * every payment id up to its version 1, and each payment rewrote the whole list).
 * A booking's payments are found by bookingId, ordered by revision.
 */
export const bookingPaymentsProjection = defineProjection<BookingPaymentDocument>({
  collection: "booking_payments",
  version: 1,
  mode: "inline",
  eventTypes: ["PaymentRecorded"],
  documentId: (event) => {
    const { bookingId, paymentId } = event.data as PaymentRecorded["data"];
    return bookingPaymentIdOf(bookingId, paymentId);
  },
  evolve(document, projected, metadata) {
    // A payment id is recorded once per booking (a redelivery is a no-op); should its event
    // come again, the payment keeps its first place.
    if (document) return document;
    const { bookingId, paymentId, amount, paidAt } = projected.data as PaymentRecorded["data"];
    return { bookingId, paymentId, amount, paidAt, revision: projected.revision, recordedAt: metadata.timestamp };
  },
  // Each declared field is an index row written with the payment: two, the fewest a booking's
  // payments in order need (a third, the time recorded, cost ~15% more CPU per payment).
  fields: {
    bookingId: "string",
    revision: "number",
  },
});
