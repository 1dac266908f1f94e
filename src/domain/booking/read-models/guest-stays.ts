import { defineProjection } from "../../../kernel/projection.js";
import type { BookingEvent } from "../events.js";

/** What a guest has booked and paid, over all their bookings. */
export interface GuestStaysDocument {
  readonly guestId: string;
  readonly bookings: number;
  readonly nightsBooked: number;
  /** Paid per currency, in minor units: a guest may pay in several. */
  readonly paidMinor: Readonly<Record<string, number>>;
  /** Each booking's guest and nights, so payments and cancellations find their guest. */
  readonly stays: Readonly<Record<string, { readonly nights: number; readonly cancelled: boolean }>>;
}

const DAY_MS = 86_400_000;

/** Nights between two ISO dates. */
function nightsOf(checkIn: string, checkOut: string): number {
  return Math.round((Date.parse(checkOut) - Date.parse(checkIn)) / DAY_MS);
}

/**
 * The `guest_stays` read model, async: one document per guest, changed by the events of many
 * bookings. Payments and cancellations name only their booking: their guest is read from the
 * booking's `bookings` document (a booking's guest never changes).
 */
export const guestStaysProjection = defineProjection<GuestStaysDocument>({
  collection: "guest_stays",
  version: 1,
  mode: "async",
  eventTypes: ["RoomBooked", "PaymentRecorded", "BookingCancelled"],
  documentId: (event) => (event.type === "RoomBooked" ? (event.data as { guestId: string }).guestId : undefined),
  documentIdFrom: {
    collection: "bookings",
    idOf: (event) => (event.data as { bookingId: string }).bookingId,
    documentId: (booking: { guestId: string }) => booking.guestId,
  },
  evolve(document, projected) {
    const event = projected as unknown as BookingEvent;
    const doc = document ?? { guestId: "", bookings: 0, nightsBooked: 0, paidMinor: {}, stays: {} };
    switch (event.type) {
      case "RoomBooked": {
        const { bookingId, guestId, checkIn, checkOut } = event.data;
        const nights = nightsOf(checkIn, checkOut);
        return { ...doc, guestId, bookings: doc.bookings + 1, nightsBooked: doc.nightsBooked + nights, stays: { ...doc.stays, [bookingId]: { nights, cancelled: false } } };
      }
      case "PaymentRecorded": {
        const { amountMinor, currency } = event.data.amount;
        return { ...doc, paidMinor: { ...doc.paidMinor, [currency]: (doc.paidMinor[currency] ?? 0) + amountMinor } };
      }
      case "BookingCancelled": {
        const stay = doc.stays[event.data.bookingId];
        if (!stay || stay.cancelled) return doc;
        return { ...doc, nightsBooked: doc.nightsBooked - stay.nights, stays: { ...doc.stays, [event.data.bookingId]: { ...stay, cancelled: true } } };
      }
      default:
        return doc;
    }
  },
  fields: { guestId: "string", bookings: "number", nightsBooked: "number" },
});
