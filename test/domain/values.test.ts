import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { dateRange, isCalendarDate, nights, type DateRange } from "../../src/domain/values/date-range.js";
import {
  formatMinor,
  isCurrency,
  isMoneyProblem,
  MAX_AMOUNT_MINOR,
  minorDigits,
  moneyFromDecimal,
  moneyFromMinor,
  type Money,
  type MoneyProblem,
} from "../../src/domain/values/money.js";

function assertProblem(value: Money | MoneyProblem, field: "amount" | "currency", message?: RegExp): void {
  assert.ok(isMoneyProblem(value), `expected a problem on ${field}, got ${JSON.stringify(value)}`);
  assert.equal(value.field, field);
  if (message) assert.match(value.message, message);
}

function assertRange(value: ReturnType<typeof dateRange>): DateRange {
  assert.ok(!("message" in value), `expected a DateRange, got ${JSON.stringify(value)}`);
  return value;
}

describe("Money", () => {
  describe("minorDigits", () => {
    it("EUR has 2, JPY 0, BHD 3", () => {
      assert.equal(minorDigits("EUR"), 2);
      assert.equal(minorDigits("JPY"), 0);
      assert.equal(minorDigits("BHD"), 3);
    });
  });

  describe("isCurrency", () => {
    it("knows EUR, JPY, BHD", () => {
      for (const c of ["EUR", "JPY", "BHD", "USD"]) assert.equal(isCurrency(c), true, c);
    });
    it("refuses lower case, wrong lengths and unknown codes", () => {
      for (const c of ["eur", "EURO", "EU", "XYZ", "", " EUR", "E1R"]) assert.equal(isCurrency(c), false, c);
    });
  });

  describe("moneyFromDecimal", () => {
    it("converts to minor units per currency", () => {
      assert.deepEqual(moneyFromDecimal("120.50", "EUR"), { amountMinor: 12050, currency: "EUR" });
      assert.deepEqual(moneyFromDecimal("120.5", "EUR"), { amountMinor: 12050, currency: "EUR" });
      assert.deepEqual(moneyFromDecimal("120", "EUR"), { amountMinor: 12000, currency: "EUR" });
      assert.deepEqual(moneyFromDecimal("0.01", "EUR"), { amountMinor: 1, currency: "EUR" });
      assert.deepEqual(moneyFromDecimal("1500", "JPY"), { amountMinor: 1500, currency: "JPY" });
      assert.deepEqual(moneyFromDecimal("1.234", "BHD"), { amountMinor: 1234, currency: "BHD" });
      assert.deepEqual(moneyFromDecimal("1.2", "BHD"), { amountMinor: 1200, currency: "BHD" });
      assert.deepEqual(moneyFromDecimal("0.001", "BHD"), { amountMinor: 1, currency: "BHD" });
    });

    it("treats leading zeros as decimal, not octal", () => {
      assert.deepEqual(moneyFromDecimal("010.00", "EUR"), { amountMinor: 1000, currency: "EUR" });
    });

    it("refuses more decimals than the currency has", () => {
      assertProblem(moneyFromDecimal("10.001", "EUR"), "amount", /EUR allows 2 decimal places/);
      assertProblem(moneyFromDecimal("10.5", "JPY"), "amount", /JPY allows 0 decimal places/);
      assertProblem(moneyFromDecimal("1.2345", "BHD"), "amount", /BHD allows 3 decimal places/);
    });

    it("refuses unknown currencies, naming the currency", () => {
      for (const c of ["XYZ", "eur", "EURO", ""]) assertProblem(moneyFromDecimal("10.00", c), "currency");
    });

    it("refuses strings that are not decimals", () => {
      for (const a of ["", "abc", "-1", "+1", "1e3", "1,50", "1.", ".5", " 1", "1 ", "0x10", "Infinity", "NaN", "1.2.3"]) {
        assertProblem(moneyFromDecimal(a, "EUR"), "amount");
      }
    });

    it("refuses zero", () => {
      assertProblem(moneyFromDecimal("0", "EUR"), "amount", /greater than zero/);
      assertProblem(moneyFromDecimal("0.00", "EUR"), "amount", /greater than zero/);
      assertProblem(moneyFromDecimal("0", "JPY"), "amount", /greater than zero/);
    });

    it("accepts MAX_AMOUNT_MINOR and refuses one minor unit more", () => {
      assert.deepEqual(moneyFromDecimal(formatMinor(MAX_AMOUNT_MINOR, "EUR"), "EUR"), { amountMinor: MAX_AMOUNT_MINOR, currency: "EUR" });
      assertProblem(moneyFromDecimal("10000000000.01", "EUR"), "amount", /maximum/);
      assertProblem(moneyFromDecimal(String(MAX_AMOUNT_MINOR + 1), "JPY"), "amount", /maximum/);
      assertProblem(moneyFromDecimal("1000000000.001", "BHD"), "amount", /maximum/);
      // Beyond a safe integer of minor units: still refused on the amount.
      assertProblem(moneyFromDecimal("999999999999999.999", "BHD"), "amount");
    });
  });

  describe("moneyFromMinor", () => {
    it("builds Money from positive whole minor units", () => {
      assert.deepEqual(moneyFromMinor(1, "EUR"), { amountMinor: 1, currency: "EUR" });
      assert.deepEqual(moneyFromMinor(MAX_AMOUNT_MINOR, "BHD"), { amountMinor: MAX_AMOUNT_MINOR, currency: "BHD" });
    });
    it("refuses zero, negatives, fractions, NaN and unsafe integers", () => {
      for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
        assertProblem(moneyFromMinor(n, "EUR"), "amount");
      }
    });
    it("refuses more than MAX_AMOUNT_MINOR", () => {
      assertProblem(moneyFromMinor(MAX_AMOUNT_MINOR + 1, "EUR"), "amount", /maximum/);
    });
    it("refuses unknown currencies", () => {
      assertProblem(moneyFromMinor(100, "XYZ"), "currency");
      assertProblem(moneyFromMinor(100, "usd"), "currency");
    });
  });

  describe("formatMinor", () => {
    it("formats in the currency's precision", () => {
      assert.equal(formatMinor(12050, "EUR"), "120.50");
      assert.equal(formatMinor(5, "EUR"), "0.05");
      assert.equal(formatMinor(0, "EUR"), "0.00");
      assert.equal(formatMinor(1500, "JPY"), "1500");
      assert.equal(formatMinor(7, "JPY"), "7");
      assert.equal(formatMinor(1234, "BHD"), "1.234");
      assert.equal(formatMinor(1, "BHD"), "0.001");
    });
    it("formats negative amounts (overpayments) with a sign", () => {
      assert.equal(formatMinor(-1000, "EUR"), "-10.00");
      assert.equal(formatMinor(-5, "EUR"), "-0.05");
      assert.equal(formatMinor(-3, "JPY"), "-3");
    });
  });

  it("property: moneyFromDecimal(formatMinor(m, c), c) round-trips to m", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_AMOUNT_MINOR }), fc.constantFrom("EUR", "JPY", "BHD"), (m, c) => {
        const money = moneyFromDecimal(formatMinor(m, c), c);
        assert.deepEqual(money, { amountMinor: m, currency: c });
      }),
      { numRuns: 1000, examples: [[1, "EUR"], [1, "JPY"], [1, "BHD"], [MAX_AMOUNT_MINOR, "EUR"], [MAX_AMOUNT_MINOR, "JPY"], [MAX_AMOUNT_MINOR, "BHD"]] },
    );
  });
});

describe("DateRange", () => {
  it("accepts a leap day in a leap year (2028-02-29)", () => {
    assert.equal(isCalendarDate("2028-02-29"), true);
    assert.deepEqual(assertRange(dateRange("2028-02-29", "2028-03-01")), { checkIn: "2028-02-29", checkOut: "2028-03-01" });
  });

  it("refuses a leap day in a common year (2027-02-29)", () => {
    assert.equal(isCalendarDate("2027-02-29"), false);
    const r = dateRange("2027-02-29", "2027-03-02");
    assert.ok("message" in r);
    assert.equal(r.field, "checkIn");
    const out = dateRange("2027-02-27", "2027-02-29");
    assert.ok("message" in out);
    assert.equal(out.field, "checkOut");
  });

  it("refuses impossible and malformed dates", () => {
    for (const d of ["2026-02-30", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00", "2026-5-01", "20260501", "2026-05-01T00:00:00Z", ""]) {
      assert.equal(isCalendarDate(d), false, d);
    }
    assert.equal(isCalendarDate("2000-02-29"), true);
    assert.equal(isCalendarDate("1900-02-29"), false);
  });

  it("refuses equal dates, naming checkOut", () => {
    const r = dateRange("2026-05-10", "2026-05-10");
    assert.ok("message" in r);
    assert.equal(r.field, "checkOut");
  });

  it("refuses check-out before check-in, naming checkOut", () => {
    const r = dateRange("2026-05-10", "2026-05-09");
    assert.ok("message" in r);
    assert.equal(r.field, "checkOut");
  });

  it("nights() counts the nights of a stay", () => {
    assert.equal(nights(assertRange(dateRange("2026-05-10", "2026-05-11"))), 1);
    assert.equal(nights(assertRange(dateRange("2026-05-10", "2026-05-17"))), 7);
    assert.equal(nights(assertRange(dateRange("2028-02-28", "2028-03-01"))), 2);
    assert.equal(nights(assertRange(dateRange("2027-02-28", "2027-03-01"))), 1);
    assert.equal(nights(assertRange(dateRange("2026-12-31", "2027-01-01"))), 1);
    // Across a European DST change: dates are UTC calendar days, so still whole nights.
    assert.equal(nights(assertRange(dateRange("2026-03-28", "2026-03-30"))), 2);
    assert.equal(nights(assertRange(dateRange("2028-01-01", "2029-01-01"))), 366);
  });
});
