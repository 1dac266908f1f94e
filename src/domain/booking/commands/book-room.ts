import { z } from "zod";
import { defineCommand } from "../../../kernel/command.js";
import { accept, reject } from "../../../kernel/decision.js";
import { event } from "../../../kernel/events.js";
import { dateRange, isCalendarDate, type DateRange } from "../../values/date-range.js";
import { calendarDate, currencyCode, decimalAmount, hasStrings, identifier, isDecimal } from "../../values/fields.js";
import { isCurrency, isMoneyProblem, moneyFromDecimal, type Money } from "../../values/money.js";
import { booking } from "../booking.js";
import { SCOPES } from "../policies.js";
import { bookingSettingsOf } from "../settings.js";
import { overlapping, room, sharedNights } from "../room.js";

/**
 * BookRoom's payload: primitives in, value objects (DateRange, Money) out. Each field is
 * checked on its own, then the cross-field rules run even when other fields failed, so
 * every bad field is named at once.
 */
const payload = z
  .strictObject({
    bookingId: identifier("bookingId"),
    roomId: identifier("roomId"),
    guestId: identifier("guestId"),
    checkIn: calendarDate("checkIn"),
    checkOut: calendarDate("checkOut"),
    price: decimalAmount,
    currency: currencyCode,
  })
  .superRefine(
    (input, ctx) => {
      if (isCalendarDate(input.checkIn) && isCalendarDate(input.checkOut)) {
        const stay = dateRange(input.checkIn, input.checkOut);
        if ("message" in stay) ctx.addIssue({ code: "custom", path: [stay.field], message: stay.message });
      }
      if (isCurrency(input.currency) && isDecimal(input.price)) {
        const price = moneyFromDecimal(input.price, input.currency);
        if (isMoneyProblem(price) && price.field === "amount") ctx.addIssue({ code: "custom", path: ["price"], message: price.message });
      }
    },
    { when: ({ value }) => hasStrings(value, "checkIn", "checkOut", "price", "currency") },
  )
  .transform((input) => ({
    bookingId: input.bookingId,
    roomId: input.roomId,
    guestId: input.guestId,
    stay: dateRange(input.checkIn, input.checkOut) as DateRange,
    price: moneyFromDecimal(input.price, input.currency) as Money,
  }));

/**
 * Books a room for a stay; the booking id must be new. The room is decided over in the same
 * command: the stay's nights are reserved on it, or the booking is refused when any is taken.
 * It schedules CancelUnpaidBooking after the unpaid-booking time (BookingSettings), which
 * cancels the booking then unless it has been paid in full.
 */
export const bookRoom = defineCommand({
  type: "booking.BookRoom",
  aggregate: booking,
  payload,
  aggregateIdField: "bookingId",
  stream: "must-be-new",
  policy: { scopes: [SCOPES.write] },
  rejections: ["CHECK_IN_IN_PAST", "ROOM_UNAVAILABLE"],
  related: { room: { aggregate: room, id: (p: z.output<typeof payload>) => p.roomId } },
  decide(_state, { payload: p }, ctx) {
    const today = ctx.clock().toISOString().slice(0, 10);
    if (p.stay.checkIn < today) return reject("CHECK_IN_IN_PAST", `check-in ${p.stay.checkIn} is before today (${today})`);
    const taken = overlapping(ctx.related.room, p.stay);
    if (taken) {
      return reject("ROOM_UNAVAILABLE", `room ${p.roomId} is booked by booking ${taken.bookingId} for the nights ${sharedNights(taken, p.stay)}`);
    }
    const { bookingId, roomId, stay } = p;
    const booked = event("RoomBooked", { bookingId, roomId, guestId: p.guestId, checkIn: stay.checkIn, checkOut: stay.checkOut, price: p.price });
    const reserved = event("NightsReserved", { roomId, bookingId, checkIn: stay.checkIn, checkOut: stay.checkOut, reservedOn: today });
    const cancelUnpaid = { type: "booking.CancelUnpaidBooking", aggregateId: bookingId, payload: { bookingId }, afterMs: bookingSettingsOf(ctx.ports).unpaidBookingTtlMs };
    return accept([booked], undefined, { related: { room: [reserved] }, schedule: [cancelUnpaid] });
  },
});
