import { fixedClock, type Collaborators } from "../../src/kernel/collaborators.js";
import { systemCollaborators } from "../../src/kernel/collaborators.js";
import type { EventStore } from "../../src/store/event-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { createApp, type AppOptions } from "../../src/pipeline/app.js";
import { bookingCommands, bookingsProjection } from "../../src/domain/booking/index.js";
import type { PipelineOptions } from "../../src/pipeline/execute.js";

/** The instant test clocks read: bookings from 2026-06-01 on are in the future. */
export const NOW = "2026-05-01T12:00:00Z";

/**
 * A booking app on an in-memory store (or the given one), with a fixed clock and the inline
 * `bookings` read model (GetBooking reads it); pass `projections` for others.
 */
export function bookingApp(options: Partial<PipelineOptions> & AppOptions & { store?: EventStore } = {}) {
  const store = options.store ?? openSqliteStore({ path: ":memory:" });
  const collaborators: Collaborators = { ...systemCollaborators, clock: fixedClock(NOW), ...options.collaborators };
  return createApp({ projections: [bookingsProjection], ...options, store, collaborators, commands: bookingCommands });
}

/** A valid BookRoom payload for a booking id, in a room of its own (named like it), so no two collide. */
export function bookRoomPayload(bookingId: string, price = "300.00", currency = "EUR") {
  return { bookingId, roomId: bookingId, guestId: "guest-1", checkIn: "2026-06-01", checkOut: "2026-06-04", price, currency };
}

/** A valid RecordPayment payload. */
export function paymentPayload(bookingId: string, paymentId: string, amount = "100.00", currency = "EUR") {
  return { bookingId, paymentId, amount, currency, paidAt: "2026-05-01T10:00:00Z" };
}
