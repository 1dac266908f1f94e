import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { BookingDocument, BookingPaymentDocument, BookingState } from "../../domain/booking/index.js";
import { PaymentIds } from "../../domain/booking/payment-ids.js";
import { formatMinor } from "../../domain/values/money.js";
import type { ReadModels, ReadOptions, StoredDocument } from "../../read/read-models.js";

/** The read model GetBooking and ListBookings are served from. */
export const BOOKINGS = "bookings";
/** The read model GetBooking reads a booking's payments from. */
export const BOOKING_PAYMENTS = "booking_payments";
/** Payments read per page: the most a page holds. */
const PAYMENTS_PAGE_SIZE = 1000;

/**
 * The booking's state as the aggregate would fold it, from its document: the domain's read
 * policy (a guest reads only their own booking) is declared over that state. Its payment ids
 * are left empty: they are `booking_payments` documents, read only once the caller may read
 * the booking, and the policy looks at the guest and status alone.
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
    paymentIds: PaymentIds.none,
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

/**
 * A booking's payment ids in the order they were recorded, read page by page from
 * `booking_payments` with the options the booking's document was read with (its tenant, its
 * min_position). Payments recorded after the document's revision are left out: the ids are
 * those of the revision GetBooking answers, even when a payment commits between the reads.
 */
export async function paymentIdsOf(read: ReadModels, stored: StoredDocument, options: ReadOptions): Promise<string[]> {
  const document = stored.data as unknown as BookingDocument;
  const filter = { bookingId: stored.id, revision: { lte: document.revision } };
  const ids: string[] = [];
  let pageToken: string | undefined;
  do {
    const page = await read.find(BOOKING_PAYMENTS, filter, { ...options, orderBy: { field: "revision" }, pageSize: PAYMENTS_PAGE_SIZE, pageToken });
    for (const payment of page.documents) ids.push((payment.data as unknown as BookingPaymentDocument).paymentId);
    pageToken = page.nextPageToken || undefined;
  } while (pageToken);
  return ids;
}

/** GetBookingResponse: the shape GetBooking had when it folded the aggregate. */
export function getBookingResponseOf(stored: StoredDocument, paymentIds: readonly string[]) {
  const document = stored.data as unknown as BookingDocument;
  return { ...commonFieldsOf(stored, document), paymentIds: [...paymentIds], revision: BigInt(document.revision) };
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
