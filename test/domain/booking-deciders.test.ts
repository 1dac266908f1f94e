import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixedClock } from "../../src/kernel/collaborators.js";
import { given } from "../../src/kernel/specification.js";
import {
  booking,
  bookRoom,
  cancelBooking,
  recordPayment,
  type BookingCancelled,
  type BookingEvent,
  type BookingFullyPaid,
  type BookingOverpaid,
  type BookingState,
  type PaymentRecorded,
  type RoomBooked,
} from "../../src/domain/booking/index.js";

const NOW = "2026-05-01T12:00:00Z";
const collaborators = { clock: fixedClock(NOW) };

/** A history of booking events, decided against the fixed clock. */
const history = (...events: BookingEvent[]) => given(booking, events, { collaborators });

const bookPayload = (overrides: Record<string, unknown> = {}) => ({
  bookingId: "B1",
  roomId: "R101",
  guestId: "G1",
  checkIn: "2026-05-10",
  checkOut: "2026-05-12",
  price: "240.00",
  currency: "EUR",
  ...overrides,
});

const roomBooked = (overrides: Partial<RoomBooked["data"]> = {}): RoomBooked => ({
  type: "RoomBooked",
  data: {
    bookingId: "B1",
    roomId: "R101",
    guestId: "G1",
    checkIn: "2026-05-10",
    checkOut: "2026-05-12",
    price: { amountMinor: 24000, currency: "EUR" },
    ...overrides,
  },
});

const paymentRecorded = (paymentId: string, amountMinor: number, paidAt = "2026-05-01T11:00:00.000Z", currency = "EUR"): PaymentRecorded => ({
  type: "PaymentRecorded",
  data: { bookingId: "B1", paymentId, amount: { amountMinor, currency }, paidAt },
});

const fullyPaid = (amountMinor: number, currency = "EUR"): BookingFullyPaid => ({
  type: "BookingFullyPaid",
  data: { bookingId: "B1", paid: { amountMinor, currency } },
});

const overpaid = (paymentId: string, amountMinor: number, currency = "EUR"): BookingOverpaid => ({
  type: "BookingOverpaid",
  data: { bookingId: "B1", paymentId, excess: { amountMinor, currency } },
});

const cancelled = (reason = "guest asked", cancelledAt = "2026-05-01T12:00:00.000Z"): BookingCancelled => ({
  type: "BookingCancelled",
  data: { bookingId: "B1", reason, cancelledAt },
});

const payPayload = (overrides: Record<string, unknown> = {}) => ({
  bookingId: "B1",
  paymentId: "P1",
  amount: "100.00",
  currency: "EUR",
  paidAt: "2026-05-01T11:00:00Z",
  ...overrides,
});

describe("BookRoom", () => {
  it("books a room: RoomBooked with the price as Money in minor units", () => {
    history()
      .when(bookRoom, bookPayload())
      .then(roomBooked())
      .thenState((s: BookingState) => {
        assert.equal(s.status, "booked");
        assert.deepEqual(s.price, { amountMinor: 24000, currency: "EUR" });
        assert.equal(s.outstandingMinor, 24000);
        assert.equal(s.paidMinor, 0);
        assert.deepEqual([...s.paymentIds], []);
      });
  });

  it("scales the price by each currency's minor digits (JPY 0, BHD 3)", () => {
    history()
      .when(bookRoom, bookPayload({ price: "24000", currency: "JPY" }))
      .then(roomBooked({ price: { amountMinor: 24000, currency: "JPY" } }));
    history()
      .when(bookRoom, bookPayload({ price: "12.345", currency: "BHD" }))
      .then(roomBooked({ price: { amountMinor: 12345, currency: "BHD" } }));
    history()
      .when(bookRoom, bookPayload({ price: "240.5" }))
      .then(roomBooked({ price: { amountMinor: 24050, currency: "EUR" } }));
  });

  it("accepts check-in today (by the clock's UTC date)", () => {
    history()
      .when(bookRoom, bookPayload({ checkIn: "2026-05-01", checkOut: "2026-05-02" }))
      .then(roomBooked({ checkIn: "2026-05-01", checkOut: "2026-05-02" }));
  });

  it("rejects a check-in before today with CHECK_IN_IN_PAST", () => {
    history()
      .when(bookRoom, bookPayload({ checkIn: "2026-04-30", checkOut: "2026-05-02" }))
      .thenRejects("CHECK_IN_IN_PAST", /2026-04-30.*2026-05-01/);
  });

  describe("invalid payloads name each bad field", () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ["bookingId with a space", { bookingId: "B 1" }, ["bookingId"]],
      ["empty bookingId", { bookingId: "" }, ["bookingId"]],
      ["bookingId longer than 64 characters", { bookingId: "B".repeat(65) }, ["bookingId"]],
      ["missing bookingId", { bookingId: undefined }, ["bookingId"]],
      ["numeric bookingId", { bookingId: 42 }, ["bookingId"]],
      ["missing roomId", { roomId: undefined }, ["roomId"]],
      ["missing guestId", { guestId: undefined }, ["guestId"]],
      ["checkOut equal to checkIn", { checkOut: "2026-05-10" }, ["checkOut"]],
      ["checkOut before checkIn", { checkOut: "2026-05-09" }, ["checkOut"]],
      ["impossible checkIn 2026-02-30", { checkIn: "2026-02-30" }, ["checkIn"]],
      ["impossible checkOut 2026-02-30", { checkIn: "2026-02-27", checkOut: "2026-02-30" }, ["checkOut"]],
      ["checkIn not a date", { checkIn: "10/05/2026" }, ["checkIn"]],
      ["missing checkIn", { checkIn: undefined }, ["checkIn"]],
      ["currency EURO", { currency: "EURO" }, ["currency"]],
      ["currency eur (lower case)", { currency: "eur" }, ["currency"]],
      ["currency XYZ (unknown)", { currency: "XYZ" }, ["currency"]],
      ["missing currency", { currency: undefined }, ["currency"]],
      ["EUR price with three decimals", { price: "10.001" }, ["price"]],
      ["JPY price with decimals", { price: "10.5", currency: "JPY" }, ["price"]],
      ["BHD price with four decimals", { price: "1.2345", currency: "BHD" }, ["price"]],
      ["zero price", { price: "0" }, ["price"]],
      ["zero price with decimals", { price: "0.00" }, ["price"]],
      ["negative price", { price: "-10.00" }, ["price"]],
      ["price as a number", { price: 240 }, ["price"]],
      ["price above the maximum", { price: "10000000000.01" }, ["price"]],
      ["price not a decimal", { price: "12,50" }, ["price"]],
    ];
    for (const [name, overrides, fields] of cases) {
      it(`${name} → ${fields.join(", ")}`, () => {
        history().when(bookRoom, bookPayload(overrides)).thenInvalid(...fields);
      });
    }

    it("several bad fields in the object schema are all named", () => {
      history()
        .when(bookRoom, bookPayload({ bookingId: "", roomId: "R 1", guestId: undefined, price: "abc", currency: "eur" }))
        .thenInvalid("bookingId", "roomId", "guestId", "price", "currency");
    });

    it("a bad stay and a bad price together are both named", () => {
      history()
        .when(bookRoom, bookPayload({ checkOut: "2026-05-01", price: "10.001" }))
        .thenInvalid("checkOut", "price");
    });

    it("a bad stay and an over-precise JPY price are both named", () => {
      history()
        .when(bookRoom, bookPayload({ checkIn: "2026-02-30", price: "10.5", currency: "JPY" }))
        .thenInvalid("checkIn", "price");
    });

    it("a bad identifier together with a bad stay and an over-precise price are all named", () => {
      history()
        .when(bookRoom, bookPayload({ bookingId: "", checkOut: "2026-05-01", price: "10.001" }))
        .thenInvalid("bookingId", "checkOut", "price");
    });

    it("an unknown currency together with a bad stay are both named", () => {
      history()
        .when(bookRoom, bookPayload({ currency: "EURO", checkOut: "2026-05-01" }))
        .thenInvalid("currency", "checkOut");
    });

    it("a non-object payload is invalid", () => {
      history().when(bookRoom, "not an object").thenInvalid("");
    });
  });
});

describe("RecordPayment", () => {
  it("records a partial payment alone and responds with the outstanding amount", () => {
    history(roomBooked())
      .when(recordPayment, payPayload())
      .then(paymentRecorded("P1", 10000))
      .thenResponds({ outstandingMinor: 14000, duplicatePayment: false })
      .thenState((s: BookingState) => {
        assert.equal(s.status, "booked");
        assert.equal(s.paidMinor, 10000);
        assert.equal(s.outstandingMinor, 14000);
        assert.deepEqual([...s.paymentIds], ["P1"]);
      });
  });

  it("normalizes paidAt to UTC ISO with milliseconds", () => {
    history(roomBooked())
      .when(recordPayment, payPayload({ paidAt: "2026-05-01T13:00:00+02:00" }))
      .then(paymentRecorded("P1", 10000, "2026-05-01T11:00:00.000Z"));
  });

  it("emits PaymentRecorded and BookingFullyPaid in one command when the outstanding reaches zero", () => {
    history(roomBooked(), paymentRecorded("P1", 10000))
      .when(recordPayment, payPayload({ paymentId: "P2", amount: "140.00" }))
      .then([paymentRecorded("P2", 14000), fullyPaid(24000)])
      .thenResponds({ outstandingMinor: 0, duplicatePayment: false })
      .thenState((s: BookingState) => {
        assert.equal(s.status, "fully_paid");
        assert.equal(s.paidMinor, 24000);
        assert.equal(s.outstandingMinor, 0);
        assert.deepEqual([...s.paymentIds], ["P1", "P2"]);
      });
  });

  it("a single payment of the full price emits both events", () => {
    history(roomBooked())
      .when(recordPayment, payPayload({ amount: "240" }))
      .then([paymentRecorded("P1", 24000), fullyPaid(24000)])
      .thenResponds({ outstandingMinor: 0, duplicatePayment: false });
  });

  it("an overpayment emits BookingFullyPaid carrying everything paid, and BookingOverpaid with the excess", () => {
    history(roomBooked(), paymentRecorded("P1", 10000))
      .when(recordPayment, payPayload({ paymentId: "P2", amount: "150.00" }))
      .then([paymentRecorded("P2", 15000), fullyPaid(25000), overpaid("P2", 1000)])
      .thenResponds({ outstandingMinor: -1000, duplicatePayment: false })
      .thenState((s: BookingState) => {
        assert.equal(s.status, "fully_paid");
        assert.equal(s.paidMinor, 25000);
        assert.equal(s.outstandingMinor, -1000);
      });
  });

  it("a paymentId already recorded is accepted with no events and duplicatePayment true", () => {
    history(roomBooked(), paymentRecorded("P1", 10000))
      .when(recordPayment, payPayload({ amount: "100.00" }))
      .then([])
      .thenResponds({ outstandingMinor: 14000, duplicatePayment: true })
      .thenState((s: BookingState) => {
        assert.equal(s.paidMinor, 10000);
        assert.deepEqual([...s.paymentIds], ["P1"]);
      });
  });

  it("a redelivered paymentId with a different amount is still a no-op", () => {
    history(roomBooked(), paymentRecorded("P1", 10000))
      .when(recordPayment, payPayload({ amount: "140.00" }))
      .then([])
      .thenResponds({ outstandingMinor: 14000, duplicatePayment: true });
  });

  it("a redelivered paymentId after the booking is fully paid is a no-op", () => {
    history(roomBooked(), paymentRecorded("P1", 24000), fullyPaid(24000))
      .when(recordPayment, payPayload({ amount: "240.00" }))
      .then([])
      .thenResponds({ outstandingMinor: 0, duplicatePayment: true });
  });

  it("rejects a payment in another currency with CURRENCY_MISMATCH", () => {
    history(roomBooked())
      .when(recordPayment, payPayload({ currency: "USD" }))
      .thenRejects("CURRENCY_MISMATCH", /EUR.*USD/);
  });

  it("rejects a payment on a cancelled booking with BOOKING_CANCELLED", () => {
    history(roomBooked(), cancelled())
      .when(recordPayment, payPayload())
      .thenRejects("BOOKING_CANCELLED", /B1/);
  });

  it("rejects a payment on a fully paid then cancelled booking with BOOKING_CANCELLED", () => {
    history(roomBooked(), paymentRecorded("P1", 24000), fullyPaid(24000), cancelled())
      .when(recordPayment, payPayload({ paymentId: "P2" }))
      .thenRejects("BOOKING_CANCELLED");
  });

  it("rejects paidAt more than 5 minutes after the clock with PAYMENT_IN_FUTURE", () => {
    history(roomBooked())
      .when(recordPayment, payPayload({ paidAt: "2026-05-01T12:05:01Z" }))
      .thenRejects("PAYMENT_IN_FUTURE", /2026-05-01T12:05:01/);
    history(roomBooked())
      .when(recordPayment, payPayload({ paidAt: "2026-05-02T12:00:00Z" }))
      .thenRejects("PAYMENT_IN_FUTURE");
  });

  it("accepts paidAt in the future within the 5 minutes of skew", () => {
    history(roomBooked())
      .when(recordPayment, payPayload({ paidAt: "2026-05-01T12:03:00Z" }))
      .then(paymentRecorded("P1", 10000, "2026-05-01T12:03:00.000Z"));
    history(roomBooked())
      .when(recordPayment, payPayload({ paidAt: "2026-05-01T12:05:00Z" }))
      .then(paymentRecorded("P1", 10000, "2026-05-01T12:05:00.000Z"));
  });

  it("does not emit a second BookingFullyPaid once fully paid", () => {
    history(roomBooked(), paymentRecorded("P1", 24000), fullyPaid(24000))
      .when(recordPayment, payPayload({ paymentId: "P2", amount: "5.00" }))
      .then([paymentRecorded("P2", 500), overpaid("P2", 500)])
      .thenResponds({ outstandingMinor: -500, duplicatePayment: false })
      .thenState((s: BookingState) => {
        assert.equal(s.status, "fully_paid");
        assert.equal(s.paidMinor, 24500);
        assert.equal(s.outstandingMinor, -500);
        assert.deepEqual([...s.paymentIds], ["P1", "P2"]);
      });
  });

  it("does not emit a second BookingFullyPaid after an overpayment", () => {
    history(roomBooked(), paymentRecorded("P1", 30000), fullyPaid(30000))
      .when(recordPayment, payPayload({ paymentId: "P2", amount: "1.00" }))
      .then([paymentRecorded("P2", 100), overpaid("P2", 100)]);
  });

  it("works in a zero-decimal currency (JPY)", () => {
    const jpy = roomBooked({ price: { amountMinor: 30000, currency: "JPY" } });
    history(jpy)
      .when(recordPayment, payPayload({ amount: "30000", currency: "JPY" }))
      .then([paymentRecorded("P1", 30000, undefined, "JPY"), fullyPaid(30000, "JPY")]);
  });

  describe("invalid payloads name each bad field", () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ["missing bookingId", { bookingId: undefined }, ["bookingId"]],
      ["bad paymentId", { paymentId: "P 1" }, ["paymentId"]],
      ["missing paymentId", { paymentId: undefined }, ["paymentId"]],
      ["EUR amount with three decimals", { amount: "10.001" }, ["amount"]],
      ["JPY amount with decimals", { amount: "10.5", currency: "JPY" }, ["amount"]],
      ["zero amount", { amount: "0" }, ["amount"]],
      ["negative amount", { amount: "-5.00" }, ["amount"]],
      ["amount as a number", { amount: 100 }, ["amount"]],
      ["amount not a decimal", { amount: "ten" }, ["amount"]],
      ["amount above the maximum", { amount: "10000000000.01" }, ["amount"]],
      ["currency EURO", { currency: "EURO" }, ["currency"]],
      ["currency eur", { currency: "eur" }, ["currency"]],
      ["currency XYZ", { currency: "XYZ" }, ["currency"]],
      ["paidAt without an offset", { paidAt: "2026-05-01T11:00:00" }, ["paidAt"]],
      ["paidAt a date only", { paidAt: "2026-05-01" }, ["paidAt"]],
      ["paidAt not a timestamp", { paidAt: "yesterday" }, ["paidAt"]],
      ["paidAt impossible date", { paidAt: "2026-02-30T10:00:00Z" }, ["paidAt"]],
      ["missing paidAt", { paidAt: undefined }, ["paidAt"]],
      ["amount, currency and paidAt all bad", { amount: "x", currency: "eur", paidAt: "now" }, ["amount", "currency", "paidAt"]],
    ];
    for (const [name, overrides, fields] of cases) {
      it(`${name} → ${fields.join(", ")}`, () => {
        history(roomBooked()).when(recordPayment, payPayload(overrides)).thenInvalid(...fields);
      });
    }

    it("a bad paidAt together with an over-precise amount are both named", () => {
      history(roomBooked()).when(recordPayment, payPayload({ amount: "10.001", paidAt: "now" })).thenInvalid("amount", "paidAt");
    });
  });
});

describe("CancelBooking", () => {
  it("cancels with cancelledAt taken from the clock", () => {
    history(roomBooked())
      .when(cancelBooking, { bookingId: "B1", reason: "change of plans" })
      .then(cancelled("change of plans", "2026-05-01T12:00:00.000Z"))
      .thenState((s: BookingState) => assert.equal(s.status, "cancelled"));
  });

  it("uses whatever the clock says", () => {
    given(booking, [roomBooked()], { collaborators: { clock: fixedClock("2026-06-15T08:30:00+02:00") } })
      .when(cancelBooking, { bookingId: "B1", reason: "r" })
      .then(cancelled("r", "2026-06-15T06:30:00.000Z"));
  });

  it("cancels a fully paid booking, keeping what was paid", () => {
    history(roomBooked(), paymentRecorded("P1", 24000), fullyPaid(24000))
      .when(cancelBooking, { bookingId: "B1", reason: "guest asked" })
      .then(cancelled())
      .thenState((s: BookingState) => {
        assert.equal(s.status, "cancelled");
        assert.equal(s.paidMinor, 24000);
        assert.deepEqual([...s.paymentIds], ["P1"]);
      });
  });

  it("rejects cancelling twice with BOOKING_ALREADY_CANCELLED", () => {
    history(roomBooked(), cancelled())
      .when(cancelBooking, { bookingId: "B1", reason: "again" })
      .thenRejects("BOOKING_ALREADY_CANCELLED", /B1/);
  });

  it("an empty reason is invalid", () => {
    history(roomBooked()).when(cancelBooking, { bookingId: "B1", reason: "" }).thenInvalid("reason");
  });

  it("a missing reason is invalid", () => {
    history(roomBooked()).when(cancelBooking, { bookingId: "B1" }).thenInvalid("reason");
  });

  it("a reason over 500 characters is invalid", () => {
    history(roomBooked()).when(cancelBooking, { bookingId: "B1", reason: "x".repeat(501) }).thenInvalid("reason");
  });

  it("a bad bookingId and an empty reason are both named", () => {
    history(roomBooked()).when(cancelBooking, { bookingId: "", reason: "" }).thenInvalid("bookingId", "reason");
  });
});

describe("booking state after sequences", () => {
  it("tracks paid, outstanding and payment ids over several partial payments", () => {
    history(roomBooked(), paymentRecorded("P1", 5000), paymentRecorded("P2", 7000))
      .when(recordPayment, payPayload({ paymentId: "P3", amount: "20.00" }))
      .then(paymentRecorded("P3", 2000))
      .thenResponds({ outstandingMinor: 10000, duplicatePayment: false })
      .thenState((s: BookingState) => {
        assert.equal(s.status, "booked");
        assert.equal(s.paidMinor, 14000);
        assert.equal(s.outstandingMinor, 10000);
        assert.deepEqual([...s.paymentIds], ["P1", "P2", "P3"]);
        assert.deepEqual(s.price, { amountMinor: 24000, currency: "EUR" });
        assert.equal(s.guestId, "G1");
        assert.equal(s.roomId, "R101");
        assert.equal(s.checkIn, "2026-05-10");
        assert.equal(s.checkOut, "2026-05-12");
      });
  });

  it("a duplicate leaves the state exactly as it was", () => {
    const events = [roomBooked(), paymentRecorded("P1", 5000)];
    history(...events)
      .when(recordPayment, payPayload({ amount: "50.00" }))
      .thenState((s: BookingState) => {
        assert.deepEqual(s, events.reduce<BookingState>((st, e) => booking.evolve(st, e), booking.initialState()));
      });
  });

  it("the initial state has no booking", () => {
    const s = booking.initialState();
    assert.equal(s.status, "none");
    assert.equal(s.price, null);
    assert.equal(s.paidMinor, 0);
    assert.equal(s.outstandingMinor, 0);
    assert.deepEqual([...s.paymentIds], []);
  });

  it("paying after cancelling is refused and a second cancel too: the stream stays cancelled", () => {
    const events = [roomBooked(), paymentRecorded("P1", 5000), cancelled()];
    history(...events).when(recordPayment, payPayload({ paymentId: "P2" })).thenRejects("BOOKING_CANCELLED");
    history(...events).when(cancelBooking, { bookingId: "B1", reason: "x" }).thenRejects("BOOKING_ALREADY_CANCELLED");
  });
});
