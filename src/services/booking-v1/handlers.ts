import { Code } from "@connectrpc/connect";
import { BookingService } from "../../gen/booking/v1/booking_pb.js";
import { booking, readOwnBooking, SCOPES, type BookingState } from "../../domain/booking/index.js";
import { identifier } from "../../domain/values/fields.js";
import { formatMinor } from "../../domain/values/money.js";
import { badRequest, edgeError } from "../../edge/command-error.js";
import { edgeService } from "../../edge/edge-service.js";
import { runCommand } from "../../edge/run-command.js";
import { authorize, ruleDenial, type Policy } from "../../kernel/policy.js";
import type { App } from "../../pipeline/app.js";
import type { AnyCommand } from "../../kernel/command.js";
import { bookRoomFieldsOf, cancelBookingFields, mapBookRoom, mapCancelBooking, mapRecordPayment, recordPaymentFields } from "./mapper.js";

/** GetBooking's booking_id: the same identifier rules (1–64 characters) BookRoom applies. */
const BOOKING_ID = identifier("booking_id");

/** GetBooking's name in denials. */
const GET_BOOKING = "booking.v1.BookingService/GetBooking";

/** Who may use the booking API's commands at all; each command's policy then decides. */
const EDGE_SCOPES = [SCOPES.write, SCOPES.own];

/** booking.v1.BookingService: the booking domain's public API. */
export function bookingServiceV1(app: Pick<App<readonly AnyCommand[]>, "execute" | "loadState" | "registry">) {
  return edgeService(BookingService, {
    bookRoom: (request, call) => runCommand(app, mapBookRoom(request), bookRoomFieldsOf(request), call, EDGE_SCOPES),
    recordPayment: (request, call) => runCommand(app, mapRecordPayment(request), recordPaymentFields, call, EDGE_SCOPES),
    cancelBooking: (request, call) => runCommand(app, mapCancelBooking(request), cancelBookingFields, call, EDGE_SCOPES),
    async getBooking(request, call) {
      const access = authorize(readOwnBooking, call.identity, GET_BOOKING);
      if (access.kind === "denied") throw edgeError(access.reason === "UNAUTHENTICATED" ? Code.Unauthenticated : Code.PermissionDenied, access.reason, access.message);
      const id = BOOKING_ID.safeParse(request.bookingId);
      if (!id.success) throw badRequest([{ field: "booking_id", description: id.error.issues[0].message }]);
      const { state, revision } = await app.loadState<BookingState>(booking, request.bookingId, call.identity.tenant);
      // An owner is refused a booking that is not theirs and one that does not exist alike, so
      // the answer tells a guest nothing about other guests' bookings.
      if (access.kind === "needs-state" && !access.rules.some((r) => r.allows(state, call.identity, request))) {
        throw edgeError(Code.PermissionDenied, "PERMISSION_DENIED", ruleDenial(GET_BOOKING, readOwnBooking as Policy, access.rules));
      }
      if (revision === 0) {
        throw edgeError(Code.NotFound, "AGGREGATE_NOT_FOUND", `booking "${request.bookingId.slice(0, 64)}" does not exist`, {
          aggregateId: request.bookingId.slice(0, 64),
        });
      }
      const currency = state.price?.currency ?? "";
      const money = (minor: number) => (currency ? formatMinor(minor, currency) : "");
      return {
        bookingId: request.bookingId,
        status: state.status,
        roomId: state.roomId,
        guestId: state.guestId,
        checkIn: state.checkIn,
        checkOut: state.checkOut,
        price: money(state.price?.amountMinor ?? 0),
        paid: money(state.paidMinor),
        outstanding: money(state.outstandingMinor),
        currency,
        paymentIds: [...state.paymentIds],
        revision: BigInt(revision),
      };
    },
  });
}
