import { defineProjection } from "../../../kernel/projection.js";
import type { Money } from "../../values/money.js";
import type { BookingEvent } from "../events.js";

/** A booking as the front desk and finance list it. Amounts are in the price's minor units. */
export interface BookingDocument {
  readonly bookingId: string;
  readonly status: "booked" | "fully_paid" | "confirmed" | "cancelled";
  readonly roomId: string;
  readonly guestId: string;
  /** ISO dates: they sort as they read. */
  readonly checkIn: string;
  readonly checkOut: string;
  readonly price: Money;
  readonly paidMinor: number;
  /** Price minus payments; negative when overpaid. */
  readonly outstandingMinor: number;
  /** How many payments were recorded; the payments themselves are the booking's PaymentRecorded events (GetBooking reads them). */
  readonly payments: number;
  /** The booking stream's revision the document reflects (GetBooking's `revision`). */
  readonly revision: number;
  /** When the booking was made and last changed: the times of its first and latest events. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * The `bookings` read model, inline: a booking's document changes in the transaction of its
 * events, so a command is never acknowledged with its booking listed as it was before.
 * Filterable by status, room, guest, dates, amounts and times. Its size does not grow with
 * the booking's stream: version 1 listed every payment id, so each payment copied and
 * rewrote the list; version 2 counts them, and GetBooking reads the ids from the booking's events.
 */
export const bookingsProjection = defineProjection<BookingDocument>({
  collection: "bookings",
  version: 2,
  mode: "inline",
  eventTypes: ["RoomBooked", "PaymentRecorded", "BookingFullyPaid", "BookingOverpaid", "BookingConfirmed", "BookingCancelled"],
  documentId: (event) => (event.data as BookingEvent["data"]).bookingId,
  evolve(document, projected, metadata) {
    const event = projected as unknown as BookingEvent;
    const updatedAt = metadata.timestamp;
    const { revision } = projected;
    if (event.type === "RoomBooked") {
      const { bookingId, roomId, guestId, checkIn, checkOut, price } = event.data;
      return { bookingId, status: "booked", roomId, guestId, checkIn, checkOut, price, paidMinor: 0, outstandingMinor: price.amountMinor, payments: 0, revision, createdAt: updatedAt, updatedAt };
    }
    if (!document) return null;
    switch (event.type) {
      case "PaymentRecorded": {
        const paidMinor = document.paidMinor + event.data.amount.amountMinor;
        return { ...document, paidMinor, outstandingMinor: document.price.amountMinor - paidMinor, payments: document.payments + 1, revision, updatedAt };
      }
      case "BookingFullyPaid":
        return { ...document, status: "fully_paid", revision, updatedAt };
      case "BookingConfirmed":
        return { ...document, status: "confirmed", revision, updatedAt };
      case "BookingCancelled":
        return { ...document, status: "cancelled", revision, updatedAt };
      default:
        // BookingOverpaid changes nothing listed, but GetBooking answers with the stream's revision.
        return { ...document, revision, updatedAt };
    }
  },
  fields: {
    status: "string",
    roomId: "string",
    guestId: "string",
    checkIn: "string",
    checkOut: "string",
    paidMinor: "number",
    outstandingMinor: "number",
    createdAt: "timestamp",
    updatedAt: "timestamp",
  },
});
