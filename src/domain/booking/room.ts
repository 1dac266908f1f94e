import { defineAggregate } from "../../kernel/aggregate.js";
import { copyWith } from "../../kernel/copy-with.js";
import type { DomainEvent } from "../../kernel/events.js";
import type { DateRange } from "../values/date-range.js";

/** A booking's stay as reserved on its room. */
export interface Reservation extends DateRange {
  readonly bookingId: string;
}

/**
 * Nights were reserved on a room for a booking. `reservedOn` is the calendar day the
 * reservation was decided on: the room forgets stays that ended before it (RoomState).
 */
export type NightsReserved = DomainEvent<"NightsReserved", { roomId: string; bookingId: string; checkIn: string; checkOut: string; reservedOn: string }>;
/** A booking's nights on a room were given back (the booking was cancelled). */
export type NightsReleased = DomainEvent<"NightsReleased", { roomId: string; bookingId: string; checkIn: string; checkOut: string; releasedOn: string }>;

export type RoomEvent = NightsReserved | NightsReleased;

/**
 * The nights a room is reserved on, as reservations in check-in order. A stay that ended
 * before `today` is dropped: BookRoom refuses a check-in before the day it is decided on, so
 * no later booking can overlap it. `today` is the newest decision day the room's events
 * carry (evolve is pure and cannot read a clock), so the state holds only stays that end
 * after the room's latest booking or release was made, bounded however many years of
 * bookings the stream holds.
 */
export interface RoomState {
  readonly reservations: readonly Reservation[];
  /** The newest decision day seen in the room's events; "" before the first. */
  readonly today: string;
}

/** The room aggregate: one stream per room, "room-<roomId>", written by the booking commands. */
export const room = defineAggregate<RoomState, RoomEvent>({
  name: "room",
  initialState: () => ({ reservations: [], today: "" }),
  evolve(state, event) {
    switch (event.type) {
      case "NightsReserved": {
        const { bookingId, checkIn, checkOut, reservedOn } = event.data;
        const today = reservedOn > state.today ? reservedOn : state.today;
        const kept = state.reservations.filter((r) => r.checkOut > today);
        const reservations = [...kept, { bookingId, checkIn, checkOut }].sort((a, b) => (a.checkIn < b.checkIn ? -1 : a.checkIn > b.checkIn ? 1 : 0));
        return copyWith(state, { reservations, today });
      }
      case "NightsReleased": {
        const { bookingId, releasedOn } = event.data;
        const today = releasedOn > state.today ? releasedOn : state.today;
        return copyWith(state, { reservations: state.reservations.filter((r) => r.bookingId !== bookingId && r.checkOut > today), today });
      }
    }
  },
});

/** The first reservation on the room that shares a night with the stay, if any. */
export function overlapping(state: RoomState, stay: DateRange): Reservation | undefined {
  return state.reservations.find((r) => r.checkIn < stay.checkOut && stay.checkIn < r.checkOut);
}

/** The nights two stays share, as "2027-01-02" or "2027-01-02 to 2027-01-04" (the last night, not the check-out). */
export function sharedNights(a: DateRange, b: DateRange): string {
  const first = a.checkIn > b.checkIn ? a.checkIn : b.checkIn;
  const end = a.checkOut < b.checkOut ? a.checkOut : b.checkOut;
  const last = new Date(Date.parse(end) - 86_400_000).toISOString().slice(0, 10);
  return first === last ? first : `${first} to ${last}`;
}
