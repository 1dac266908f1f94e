import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Violation } from "../../kernel/result.js";
import type { BookRoomRequest, CancelBookingRequest, RecordPaymentRequest } from "../../gen/booking/v1/booking_pb.js";
import { protoFieldNames, type FieldNames } from "../../edge/field-names.js";
import type { Mapped } from "../../edge/run-command.js";

/** booking.v1's names are the snake_case of the domain's. */
export const bookRoomFields = protoFieldNames();
/** A BookRoom that sent the price under its deprecated name hears about it under that name. */
const legacyBookRoomFields = protoFieldNames({ price: "amount" });
export const recordPaymentFields = protoFieldNames();
export const cancelBookingFields = protoFieldNames();

/** How a BookRoom's violations name its fields: the price as the caller sent it. */
export function bookRoomFieldsOf(request: BookRoomRequest): FieldNames {
  return request.price === "" && request.amount !== "" ? legacyBookRoomFields : bookRoomFields;
}

/** BookRoomRequest → booking.BookRoom; `price`, or its deprecated name `amount`. */
export function mapBookRoom(request: BookRoomRequest): Mapped {
  if (request.price !== "" && request.amount !== "" && request.price !== request.amount) {
    const description = `price "${request.price.slice(0, 40)}" and its deprecated name amount "${request.amount.slice(0, 40)}" differ; send price only`;
    return { ok: false, type: "booking.BookRoom", violations: [{ field: "price", description }] };
  }
  return {
    ok: true,
    type: "booking.BookRoom",
    requestId: request.requestId,
    payload: {
      bookingId: request.bookingId,
      roomId: request.roomId,
      guestId: request.guestId,
      checkIn: request.checkIn,
      checkOut: request.checkOut,
      price: request.price || request.amount,
      currency: request.currency,
    },
  };
}

/** RecordPaymentRequest → booking.RecordPayment. */
export function mapRecordPayment(request: RecordPaymentRequest): Mapped {
  const paidAt = instantOf(request.paidAt, "paid_at");
  if (typeof paidAt !== "string" && paidAt !== undefined) return { ok: false, type: "booking.RecordPayment", violations: [paidAt] };
  return {
    ok: true,
    type: "booking.RecordPayment",
    requestId: request.requestId,
    expectedRevision: request.expectedRevision,
    payload: {
      bookingId: request.bookingId,
      paymentId: request.paymentId,
      amount: request.amount,
      currency: request.currency,
      paidAt,
    },
  };
}

/** CancelBookingRequest → booking.CancelBooking. */
export function mapCancelBooking(request: CancelBookingRequest): Mapped {
  return {
    ok: true,
    type: "booking.CancelBooking",
    requestId: request.requestId,
    expectedRevision: request.expectedRevision,
    payload: { bookingId: request.bookingId, reason: request.reason },
  };
}

/**
 * A Timestamp as an RFC 3339 string; absent stays absent (the domain says it is required),
 * out-of-range seconds or nanos are a violation named after the edge's field.
 */
export function instantOf(timestamp: Timestamp | undefined, field: string): string | undefined | Violation {
  if (!timestamp) return undefined;
  const date = timestampDate(timestamp);
  const valid = Number.isFinite(date.getTime()) && timestamp.nanos >= 0 && timestamp.nanos < 1e9 && Math.abs(date.getTime()) <= 253402300799999;
  return valid ? date.toISOString() : { field, description: `${field} is not a valid timestamp between year 1 and 9999` };
}
