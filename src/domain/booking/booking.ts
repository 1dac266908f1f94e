import { defineAggregate } from "../../kernel/aggregate.js";
import { copyWith } from "../../kernel/copy-with.js";
import type { Money } from "../values/money.js";
import type { BookingEvent } from "./events.js";
import { PaymentIds } from "./payment-ids.js";

/** Where a booking stands. "none" means the stream has no events yet. */
export type BookingStatus = "none" | "booked" | "fully_paid" | "confirmed" | "cancelled";

/** A booking's state, folded from its events. Amounts are in the price's minor units. */
export interface BookingState {
  readonly status: BookingStatus;
  readonly roomId: string;
  readonly guestId: string;
  readonly checkIn: string;
  readonly checkOut: string;
  readonly price: Money | null;
  readonly paidMinor: number;
  /** Price minus payments; negative when overpaid. */
  readonly outstandingMinor: number;
  /** In the order they were recorded; a snapshot holds them as a JSON array. */
  readonly paymentIds: PaymentIds;
}

/** The booking aggregate: one stream per booking, "booking-<bookingId>". */
export const booking = defineAggregate<BookingState, BookingEvent>({
  name: "booking",
  initialState: () => ({
    status: "none",
    roomId: "",
    guestId: "",
    checkIn: "",
    checkOut: "",
    price: null,
    paidMinor: 0,
    outstandingMinor: 0,
    paymentIds: PaymentIds.none,
  }),
  evolve(state, event) {
    switch (event.type) {
      case "RoomBooked": {
        const { roomId, guestId, checkIn, checkOut, price } = event.data;
        return copyWith(state, { status: "booked", roomId, guestId, checkIn, checkOut, price, outstandingMinor: price.amountMinor });
      }
      case "PaymentRecorded": {
        const paidMinor = state.paidMinor + event.data.amount.amountMinor;
        return copyWith(state, {
          paidMinor,
          outstandingMinor: (state.price?.amountMinor ?? 0) - paidMinor,
          paymentIds: state.paymentIds.add(event.data.paymentId),
        });
      }
      case "BookingFullyPaid":
        return copyWith(state, { status: "fully_paid" });
      case "BookingOverpaid":
        return state;
      case "BookingCancelled":
        return copyWith(state, { status: "cancelled" });
      case "BookingConfirmed":
        return copyWith(state, { status: "confirmed" });
    }
  },
  revive: (json) => {
    const state = json as Omit<BookingState, "paymentIds"> & { paymentIds: string[] };
    return { ...state, paymentIds: PaymentIds.of(state.paymentIds) };
  },
});
