import { PaymentNotificationService } from "../../gen/payments/v1/payments_pb.js";
import { SCOPES } from "../../domain/booking/index.js";
import { edgeService } from "../../edge/edge-service.js";
import { runCommand, type Executor } from "../../edge/run-command.js";
import { mapNotifyPaymentSucceeded, notifyPaymentFields } from "./mapper.js";

/** payments.v1.PaymentNotificationService: a payment provider's notifications. */
export function paymentNotificationServiceV1(app: Executor) {
  return edgeService(PaymentNotificationService, {
    notifyPaymentSucceeded: (request, call) =>
      runCommand(app, mapNotifyPaymentSucceeded(request), notifyPaymentFields, call, [SCOPES.notifyPayments]),
  });
}
