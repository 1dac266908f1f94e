import { defineProjection } from "../../../kernel/projection.js";
import type { BookingEvent } from "../events.js";
import type { BookingDocument } from "./bookings.js";

/** What a guest has booked and paid, over all their bookings. */
export interface GuestStaysDocument {
  readonly guestId: string;
  readonly bookings: number;
  readonly nightsBooked: number;
  /** Paid per currency, in minor units: a guest may pay in several. */
  readonly paidMinor: Readonly<Record<string, number>>;
}

const DAY_MS = 86_400_000;

/** Nights between two ISO dates. */
function nightsOf(checkIn: string, checkOut: string): number {
  return Math.round((Date.parse(checkOut) - Date.parse(checkIn)) / DAY_MS);
}

/**
 * The `guest_stays` read model, async: one document per guest, changed by the events of many
 * bookings. Payments and cancellations name only their booking: their guest is read from the
 * booking's `bookings` document (a booking's guest and dates never change), which also gives
 * a cancelled booking's nights: the document stays the same size however many bookings a
 * guest has (version 1 listed every booking, and each event copied the list).
 */
export const guestStaysProjection = defineProjection<GuestStaysDocument>({
  collection: "guest_stays",
  version: 2,
  mode: "async",
  eventTypes: ["RoomBooked", "PaymentRecorded", "BookingCancelled"],
  documentId: (event) => (event.type === "RoomBooked" ? (event.data as { guestId: string }).guestId : undefined),
  documentIdFrom: {
    collection: "bookings",
    idOf: (event) => (event.data as { bookingId: string }).bookingId,
    documentId: (booking: { guestId: string }) => booking.guestId,
  },
  evolve(document, projected, _metadata, booking?: BookingDocument) {
    const event = projected as unknown as BookingEvent;
    const doc = document ?? { guestId: "", bookings: 0, nightsBooked: 0, paidMinor: {} };
    switch (event.type) {
      case "RoomBooked": {
        const { guestId, checkIn, checkOut } = event.data;
        return { ...doc, guestId, bookings: doc.bookings + 1, nightsBooked: doc.nightsBooked + nightsOf(checkIn, checkOut) };
      }
      case "PaymentRecorded": {
        const { amountMinor, currency } = event.data.amount;
        return { ...doc, paidMinor: { ...doc.paidMinor, [currency]: (doc.paidMinor[currency] ?? 0) + amountMinor } };
      }
      case "BookingCancelled":
        // A booking is cancelled once (the aggregate refuses a second), so its nights go once.
        return booking ? { ...doc, nightsBooked: doc.nightsBooked - nightsOf(booking.checkIn, booking.checkOut) } : doc;
      default:
        return doc;
    }
  },
  fields: { guestId: "string", bookings: "number", nightsBooked: "number" },
});
