import { Code } from "@connectrpc/connect";
import { BookingService } from "../../gen/booking/v1/booking_pb.js";
import { readOwnBooking, SCOPES, type BookingDocument } from "../../domain/booking/index.js";
import { identifier } from "../../domain/values/fields.js";
import { badRequest, edgeError } from "../../edge/command-error.js";
import { edgeService } from "../../edge/edge-service.js";
import { orderByOf, pageSizeOf, readOptionsOf } from "../../edge/query-call.js";
import { queryError } from "../../edge/query-error.js";
import { runCommand } from "../../edge/run-command.js";
import type { ReadModels } from "../../read/read-models.js";
import { authorize, ruleDenial, type Policy } from "../../kernel/policy.js";
import type { App } from "../../pipeline/app.js";
import type { AnyCommand } from "../../kernel/command.js";
import { BOOKINGS, bookingOf, bookingStateOf, getBookingResponseOf, paymentIdsOf } from "./booking-document.js";
import { LIST_BOOKINGS_FIELDS, listBookingsFilter, ORDER_NAMES, orderFieldOf } from "./list-bookings.js";
import { bookRoomFieldsOf, cancelBookingFields, mapBookRoom, mapCancelBooking, mapRecordPayment, recordPaymentFields } from "./mapper.js";

/** GetBooking's booking_id: the same identifier rules (1–64 characters) BookRoom applies. */
const BOOKING_ID = identifier("booking_id");

/** GetBooking's and ListBookings' names in denials. */
const GET_BOOKING = "booking.v1.BookingService/GetBooking";
const LIST_BOOKINGS = "booking.v1.BookingService/ListBookings";

/** Who may use the booking API's commands at all; each command's policy then decides. */
const EDGE_SCOPES = [SCOPES.write, SCOPES.own];

/**
 * booking.v1.BookingService: the booking domain's public API. Commands go through the
 * pipeline; GetBooking and ListBookings read the `bookings` read model (GetBooking the
 * payments from the booking's events, up to the document's revision), which changes in the
 * transaction of the events, so a read after an acknowledged command sees it.
 */
export function bookingServiceV1(app: Pick<App<readonly AnyCommand[]>, "execute" | "registry" | "store">, read: ReadModels) {
  return edgeService(BookingService, {
    bookRoom: (request, call) => runCommand(app, mapBookRoom(request), bookRoomFieldsOf(request), call, EDGE_SCOPES),
    recordPayment: (request, call) => runCommand(app, mapRecordPayment(request), recordPaymentFields, call, EDGE_SCOPES),
    cancelBooking: (request, call) => runCommand(app, mapCancelBooking(request), cancelBookingFields, call, EDGE_SCOPES),
    async getBooking(request, call) {
      const access = authorize(readOwnBooking, call.identity, GET_BOOKING);
      if (access.kind === "denied") throw edgeError(access.reason === "UNAUTHENTICATED" ? Code.Unauthenticated : Code.PermissionDenied, access.reason, access.message);
      const id = BOOKING_ID.safeParse(request.bookingId);
      if (!id.success) throw badRequest([{ field: "booking_id", description: id.error.issues[0].message }]);
      const options = readOptionsOf(call, request.minPosition);
      const refused = (error: unknown) => {
        throw queryError(error, LIST_BOOKINGS_FIELDS, request.minPosition);
      };
      const document = await read.fetch(BOOKINGS, request.bookingId, options).catch(refused);
      // An owner is refused a booking that is not theirs and one that does not exist alike, so
      // the answer tells a guest nothing about other guests' bookings.
      if (access.kind === "needs-state" && !(document && access.rules.some((r) => r.allows(bookingStateOf(document.data as unknown as BookingDocument), call.identity, request)))) {
        throw edgeError(Code.PermissionDenied, "PERMISSION_DENIED", ruleDenial(GET_BOOKING, readOwnBooking as Policy, access.rules));
      }
      if (!document) {
        throw edgeError(Code.NotFound, "AGGREGATE_NOT_FOUND", `booking "${request.bookingId}" does not exist`, { aggregateId: request.bookingId });
      }
      return getBookingResponseOf(document, await paymentIdsOf(app.store, document, options.tenant).catch(refused));
    },
    async listBookings(request, call) {
      const access = authorize(readOwnBooking, call.identity, LIST_BOOKINGS);
      if (access.kind === "denied") throw edgeError(access.reason === "UNAUTHENTICATED" ? Code.Unauthenticated : Code.PermissionDenied, access.reason, access.message);
      // A guest who may read only their own bookings lists only those: asking for another
      // guest's is refused, asking for none lists theirs.
      const ownGuest = access.kind === "needs-state" ? call.identity.userId : undefined;
      if (access.kind === "needs-state" && (ownGuest === undefined || (request.guestId !== "" && request.guestId !== ownGuest))) {
        throw edgeError(Code.PermissionDenied, "PERMISSION_DENIED", ruleDenial(LIST_BOOKINGS, readOwnBooking as Policy, access.rules));
      }
      const filter = listBookingsFilter(request, ownGuest);
      const options = {
        ...readOptionsOf(call, request.minPosition),
        orderBy: orderByOf(request.orderBy, orderFieldOf, ORDER_NAMES),
        pageSize: pageSizeOf(request.pageSize),
        pageToken: request.pageToken || undefined,
      };
      const page = await read.find(BOOKINGS, filter, options).catch((error: unknown) => {
        throw queryError(error, LIST_BOOKINGS_FIELDS, request.minPosition);
      });
      return { bookings: page.documents.map(bookingOf), nextPageToken: page.nextPageToken };
    },
  });
}
