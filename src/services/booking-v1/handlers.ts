import { Code } from "@connectrpc/connect";
import { BookingService } from "../../gen/booking/v1/booking_pb.js";
import { booking, SCOPES, type BookingState } from "../../domain/booking/index.js";
import { formatMinor } from "../../domain/values/money.js";
import { badRequest, edgeError } from "../../edge/command-error.js";
import { edgeService } from "../../edge/edge-service.js";
import { runCommand } from "../../edge/run-command.js";
import { requireScope } from "../../edge/query-access.js";
import type { App } from "../../pipeline/app.js";
import type { AnyCommand } from "../../kernel/command.js";
import { bookRoomFields, cancelBookingFields, mapBookRoom, mapCancelBooking, mapRecordPayment, recordPaymentFields } from "./mapper.js";

/** Who may use the booking API's commands at all; each command's policy then decides. */
const EDGE_SCOPES = [SCOPES.write, SCOPES.own];

/** booking.v1.BookingService: the booking domain's public API. */
export function bookingServiceV1(app: Pick<App<readonly AnyCommand[]>, "execute" | "loadState">) {
  return edgeService(BookingService, {
    bookRoom: (request, call) => runCommand(app, mapBookRoom(request), bookRoomFields, call, EDGE_SCOPES),
    recordPayment: (request, call) => runCommand(app, mapRecordPayment(request), recordPaymentFields, call, EDGE_SCOPES),
    cancelBooking: (request, call) => runCommand(app, mapCancelBooking(request), cancelBookingFields, call, EDGE_SCOPES),
    async getBooking(request, call) {
      requireScope(call.identity, SCOPES.read);
      if (!request.bookingId) throw badRequest([{ field: "booking_id", description: "booking_id is required" }]);
      const { state, revision } = await app.loadState<BookingState>(booking, request.bookingId, call.identity.tenant);
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
