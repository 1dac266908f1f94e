import { z } from "zod";
import { defineCommand } from "../../../kernel/command.js";
import { accept, reject } from "../../../kernel/decision.js";
import { event } from "../../../kernel/events.js";
import { currencyCode, decimalAmount, hasStrings, identifier, isDecimal, instant } from "../../values/fields.js";
import { isCurrency, isMoneyProblem, moneyFromDecimal, type Money } from "../../values/money.js";
import { booking } from "../booking.js";
import type { BookingEvent } from "../events.js";
import { SCOPES } from "../policies.js";

/** How far in the future a payment time may lie, to allow for clock skew. */
const CLOCK_SKEW_MS = 5 * 60_000;

const payload = z
  .strictObject({
    bookingId: identifier("bookingId"),
    paymentId: identifier("paymentId"),
    amount: decimalAmount,
    currency: currencyCode,
    paidAt: instant,
  })
  .superRefine(
    (input, ctx) => {
      if (!isCurrency(input.currency) || !isDecimal(input.amount)) return;
      const amount = moneyFromDecimal(input.amount, input.currency);
      if (isMoneyProblem(amount)) ctx.addIssue({ code: "custom", path: [amount.field], message: amount.message });
    },
    { when: ({ value }) => hasStrings(value, "amount", "currency") },
  )
  .transform((input) => ({
    bookingId: input.bookingId,
    paymentId: input.paymentId,
    amount: moneyFromDecimal(input.amount, input.currency) as Money,
    paidAt: new Date(input.paidAt).toISOString(),
  }));

/**
 * Records a payment. A payment id already on the booking is a no-op (providers redeliver);
 * reaching the price also emits BookingFullyPaid in the same command, and paying beyond it
 * BookingOverpaid with the excess.
 */
export const recordPayment = defineCommand({
  type: "booking.RecordPayment",
  aggregate: booking,
  payload,
  aggregateIdField: "bookingId",
  stream: "must-exist",
  policy: { scopes: [SCOPES.write, SCOPES.notifyPayments] },
  rejections: ["BOOKING_CANCELLED", "CURRENCY_MISMATCH", "PAYMENT_IN_FUTURE"],
  // A payment time ahead of the clock may be right a minute later (a provider's clock runs
  // fast): a redelivery with the same request id is decided again, not refused for 24 h.
  transientRejections: ["PAYMENT_IN_FUTURE"],
  decide(state, { payload: p }, ctx) {
    // A redelivered payment is the same fact again, whatever happened since: a no-op.
    if (state.paymentIds.has(p.paymentId)) {
      return accept([], { outstandingMinor: state.outstandingMinor, duplicatePayment: true });
    }
    if (state.status === "cancelled") return reject("BOOKING_CANCELLED", `booking ${p.bookingId} is cancelled`);
    if (state.price && state.price.currency !== p.amount.currency) {
      return reject("CURRENCY_MISMATCH", `booking is in ${state.price.currency}, payment is in ${p.amount.currency}`);
    }
    if (Date.parse(p.paidAt) > ctx.clock().getTime() + CLOCK_SKEW_MS) {
      return reject("PAYMENT_IN_FUTURE", `paidAt ${p.paidAt} is in the future`);
    }

    const events: BookingEvent[] = [
      event("PaymentRecorded", { bookingId: p.bookingId, paymentId: p.paymentId, amount: p.amount, paidAt: p.paidAt }),
    ];
    const outstanding = state.outstandingMinor - p.amount.amountMinor;
    if (state.status === "booked" && outstanding <= 0) {
      events.push(event("BookingFullyPaid", { bookingId: p.bookingId, paid: { amountMinor: state.paidMinor + p.amount.amountMinor, currency: p.amount.currency } }));
    }
    if (outstanding < 0) {
      // The part of this payment beyond what was still owed, for finance to refund.
      const excessMinor = Math.min(p.amount.amountMinor, -outstanding);
      events.push(event("BookingOverpaid", { bookingId: p.bookingId, paymentId: p.paymentId, excess: { amountMinor: excessMinor, currency: p.amount.currency } }));
    }
    return accept(events, { outstandingMinor: outstanding, duplicatePayment: false });
  },
});
