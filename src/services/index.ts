import { BookingService } from "../gen/booking/v1/booking_pb.js";
import { PaymentNotificationService } from "../gen/payments/v1/payments_pb.js";
import { SCOPES } from "../domain/booking/index.js";
import type { EdgeService } from "../edge/edge-service.js";
import { DEFAULT_LIMITS, type RequestLimits } from "../edge/limits.js";
import type { App } from "../pipeline/app.js";
import type { AnyCommand } from "../kernel/command.js";
import type { LagBoard } from "../consumer/lag-board.js";
import type { FieldNames } from "../edge/field-names.js";
import { bookingServiceV1 } from "./booking-v1/handlers.js";
import { bookRoomFields, cancelBookingFields, recordPaymentFields } from "./booking-v1/mapper.js";
import { notifyPaymentFields } from "./payments-v1/mapper.js";
import { commandServiceV1 } from "./command-v1/handlers.js";
import type { ScheduleEdge } from "./command-v1/schedule-handlers.js";
import { eventStoreServiceV1 } from "./eventstore-v1/handlers.js";
import { paymentNotificationServiceV1 } from "./payments-v1/handlers.js";
import { queryServiceV1 } from "./query-v1/handlers.js";

const path = (service: { typeName: string }, method: { name: string }) => `/${service.typeName}/${method.name}`;

/** Which typed edge RPC runs which domain command (reported by DescribeCommands). */
export const EDGE_ROUTES: Readonly<Record<string, string>> = {
  [path(BookingService, BookingService.method.bookRoom)]: "booking.BookRoom",
  [path(BookingService, BookingService.method.recordPayment)]: "booking.RecordPayment",
  [path(BookingService, BookingService.method.cancelBooking)]: "booking.CancelBooking",
  [path(PaymentNotificationService, PaymentNotificationService.method.notifyPaymentSucceeded)]: "booking.RecordPayment",
};

/** How each typed edge RPC names the payload's fields (DescribeCommands' field mapping). */
export const EDGE_FIELDS: Readonly<Record<string, FieldNames>> = {
  [path(BookingService, BookingService.method.bookRoom)]: bookRoomFields,
  [path(BookingService, BookingService.method.recordPayment)]: recordPaymentFields,
  [path(BookingService, BookingService.method.cancelBooking)]: cancelBookingFields,
  [path(PaymentNotificationService, PaymentNotificationService.method.notifyPaymentSucceeded)]: notifyPaymentFields,
};

/** What the edge services need besides the app: subscriptions' lag board, and the scheduled-command RPCs' parts. */
export interface EdgeServiceParts {
  readonly subscriptions?: LagBoard;
  readonly scheduling?: Omit<ScheduleEdge, "registry" | "loadState">;
}

/** Every edge service of the reference booking service. */
export function edgeServices(app: Omit<App<readonly AnyCommand[]>, "commands">, limits: RequestLimits = DEFAULT_LIMITS, parts: EdgeServiceParts = {}): EdgeService[] {
  const { subscriptions, scheduling } = parts;
  return [
    bookingServiceV1(app, app.read),
    paymentNotificationServiceV1(app),
    commandServiceV1(app, EDGE_ROUTES, limits, EDGE_FIELDS, scheduling && { ...scheduling, registry: app.registry, loadState: app.loadState }),
    eventStoreServiceV1({ store: app.store, feed: app.feed, readScopes: [SCOPES.read], limits, subscriptions }),
    queryServiceV1({ read: app.read, readScopes: [SCOPES.read] }),
  ] as EdgeService[];
}
