import { z } from "zod";
import { defineCommand } from "../../../kernel/command.js";
import { reject } from "../../../kernel/decision.js";
import { event } from "../../../kernel/events.js";
import { dateRange } from "../../values/date-range.js";
import { currencyCode, decimalAmount, identifier } from "../../values/fields.js";
import { isMoneyProblem, moneyFromDecimal } from "../../values/money.js";
import { booking } from "../booking.js";
import { SCOPES } from "../policies.js";

/** BookRoom's payload: primitives in, value objects (DateRange, Money) out. */
const payload = z
  .object({
    bookingId: identifier("bookingId"),
    roomId: identifier("roomId"),
    guestId: identifier("guestId"),
    checkIn: z.string({ error: "checkIn must be a date like 2026-05-01" }),
    checkOut: z.string({ error: "checkOut must be a date like 2026-05-03" }),
    price: decimalAmount,
    currency: currencyCode,
  })
  .transform((input, ctx) => {
    const stay = dateRange(input.checkIn, input.checkOut);
    const price = moneyFromDecimal(input.price, input.currency);
    if ("message" in stay) ctx.addIssue({ code: "custom", path: [stay.field], message: stay.message });
    if (isMoneyProblem(price)) ctx.addIssue({ code: "custom", path: [price.field === "amount" ? "price" : "currency"], message: price.message });
    if ("message" in stay || isMoneyProblem(price)) return z.NEVER;
    return { bookingId: input.bookingId, roomId: input.roomId, guestId: input.guestId, stay, price };
  });

/** Books a room for a stay; the booking id must be new. */
export const bookRoom = defineCommand({
  type: "booking.BookRoom",
  aggregate: booking,
  payload,
  aggregateIdField: "bookingId",
  stream: "must-be-new",
  policy: { scopes: [SCOPES.write] },
  rejections: ["CHECK_IN_IN_PAST"],
  decide(_state, { payload: p }, ctx) {
    const today = ctx.clock().toISOString().slice(0, 10);
    if (p.stay.checkIn < today) return reject("CHECK_IN_IN_PAST", `check-in ${p.stay.checkIn} is before today (${today})`);
    return event("RoomBooked", {
      bookingId: p.bookingId,
      roomId: p.roomId,
      guestId: p.guestId,
      checkIn: p.stay.checkIn,
      checkOut: p.stay.checkOut,
      price: p.price,
    });
  },
});
