import type { Policy, StateRule } from "../../kernel/policy.js";
import type { BookingState } from "./booking.js";

/** Scopes the booking domain knows. */
export const SCOPES = {
  write: "bookings:write",
  read: "bookings:read",
  own: "bookings:own",
  notifyPayments: "payments:notify",
} as const;

/** What `bookings:own` allows: the booking's guest is the caller (a booking that does not exist is nobody's). */
const ownBooking: StateRule<BookingState, unknown> = {
  scope: SCOPES.own,
  description: "the booking's guest is the caller",
  allows: (state, identity) => state.status !== "none" && identity.userId !== undefined && state.guestId === identity.userId,
};

/** Staff and services write any booking; a guest with `bookings:own` only their own. */
export const writeOwnBooking: Policy<BookingState> = { scopes: [SCOPES.write], rules: [ownBooking] };

/**
 * Staff read any booking; a guest with `bookings:own` reads their own, the one they may
 * cancel. The event store's reads span bookings and stay `bookings:read` only.
 */
export const readOwnBooking: Policy<BookingState> = { scopes: [SCOPES.read], rules: [ownBooking] };
