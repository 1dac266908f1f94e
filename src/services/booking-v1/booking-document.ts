import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { BookingDocument, BookingState } from "../../domain/booking/index.js";
import { PaymentIds } from "../../domain/booking/payment-ids.js";
import { formatMinor } from "../../domain/values/money.js";
import type { StoredDocument } from "../../read/read-models.js";

/** The read model GetBooking and ListBookings are served from. */
export const BOOKINGS = "bookings";

/**
 * The booking's state as the aggregate would fold it, from its document: the domain's read
 * policy (a guest reads only their own booking) is declared over that state.
 */
export function bookingStateOf(document: BookingDocument): BookingState {
  return {
    status: document.status,
    roomId: document.roomId,
    guestId: document.guestId,
    checkIn: document.checkIn,
    checkOut: document.checkOut,
    price: document.price,
    paidMinor: document.paidMinor,
    outstandingMinor: document.outstandingMinor,
    paymentIds: PaymentIds.of(document.paymentIds),
  };
}

/** Amounts as decimal strings in the booking's currency. */
function amountsOf(document: BookingDocument) {
  const { currency } = document.price;
  const money = (minor: number) => formatMinor(minor, currency);
  return { price: money(document.price.amountMinor), paid: money(document.paidMinor), outstanding: money(document.outstandingMinor), currency };
}

/** The fields GetBookingResponse and a listed Booking share. */
function commonFieldsOf(stored: StoredDocument, document: BookingDocument) {
  const { status, roomId, guestId, checkIn, checkOut } = document;
  return { bookingId: stored.id, status, roomId, guestId, checkIn, checkOut, ...amountsOf(document) };
}

/** GetBookingResponse: the shape GetBooking had when it folded the aggregate. */
export function getBookingResponseOf(stored: StoredDocument) {
  const document = stored.data as unknown as BookingDocument;
  return { ...commonFieldsOf(stored, document), paymentIds: [...document.paymentIds], revision: BigInt(document.revision) };
}

/** A booking.v1.Booking in a ListBookings page. */
export function bookingOf(stored: StoredDocument) {
  const document = stored.data as unknown as BookingDocument;
  return {
    ...commonFieldsOf(stored, document),
    createTime: timestampFromDate(new Date(document.createdAt)),
    updateTime: timestampFromDate(new Date(document.updatedAt)),
  };
}
