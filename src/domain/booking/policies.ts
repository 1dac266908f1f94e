import type { Policy } from "../../kernel/policy.js";
import type { BookingState } from "./booking.js";

/** Scopes the booking domain knows. */
export const SCOPES = {
  write: "bookings:write",
  read: "bookings:read",
  own: "bookings:own",
  notifyPayments: "payments:notify",
} as const;

/** Staff and services write any booking; a guest with `bookings:own` only their own. */
export const writeOwnBooking: Policy<BookingState> = {
  scopes: [SCOPES.write],
  rules: [
    {
      scope: SCOPES.own,
      description: "the booking's guest is the caller",
      allows: (state, identity) => state.status !== "none" && identity.userId !== undefined && state.guestId === identity.userId,
    },
  ],
};
