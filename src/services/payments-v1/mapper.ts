import type { Violation } from "../../kernel/result.js";
import type { NotifyPaymentSucceededRequest } from "../../gen/payments/v1/payments_pb.js";
import { formatMinor, isCurrency, MAX_AMOUNT_MINOR } from "../../domain/values/money.js";
import { MAX_ID_LENGTH } from "../../domain/values/fields.js";
import { protoFieldNames } from "../../edge/field-names.js";
import type { Mapped } from "../../edge/run-command.js";
import { instantOf } from "../booking-v1/mapper.js";

/** The provider's names for the domain's fields. */
export const notifyPaymentFields = protoFieldNames({
  bookingId: "booking_reference",
  paymentId: "provider_payment_id",
  amount: "amount_minor",
  paidAt: "occurred_at",
});

/**
 * A provider's payment notification → booking.RecordPayment. Minor units become the
 * domain's decimal amount; the provider's payment id is the idempotency key unless the
 * provider sent its own, so a redelivered notification is recorded once.
 */
export function mapNotifyPaymentSucceeded(request: NotifyPaymentSucceededRequest): Mapped {
  const violations: Violation[] = [];
  const minor = request.amountMinor;
  if (minor <= 0n) violations.push({ field: "amount_minor", description: "amount_minor must be greater than zero" });
  else if (minor > BigInt(MAX_AMOUNT_MINOR)) violations.push({ field: "amount_minor", description: `amount_minor exceeds ${MAX_AMOUNT_MINOR}` });
  const occurredAt = instantOf(request.occurredAt, "occurred_at");
  if (typeof occurredAt === "object") violations.push(occurredAt);
  if (violations.length > 0) return { ok: false, type: "booking.RecordPayment", violations };
  return {
    ok: true,
    type: "booking.RecordPayment",
    // An over-long provider id is named as provider_payment_id by the domain, not again as request_id.
    requestId: request.requestId || (request.providerPaymentId && request.providerPaymentId.length <= MAX_ID_LENGTH ? `payment:${request.providerPaymentId}` : ""),
    payload: {
      bookingId: request.bookingReference,
      paymentId: request.providerPaymentId,
      // Unknown currencies keep the raw number; the domain then names `currency` as the problem.
      amount: isCurrency(request.currency) ? formatMinor(Number(minor), request.currency) : String(minor),
      currency: request.currency,
      paidAt: occurredAt,
    },
  };
}
