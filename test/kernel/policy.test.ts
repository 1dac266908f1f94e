import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { booking, cancelBooking, SCOPES, type BookingEvent, type BookingState } from "../../src/domain/booking/index.js";
import { writeOwnBooking } from "../../src/domain/booking/policies.js";
import { fold } from "../../src/kernel/aggregate.js";
import { TRUSTED_LOCAL, type Identity } from "../../src/kernel/identity.js";
import { authorize, describePolicy, narrowPolicy, OPEN, type Policy } from "../../src/kernel/policy.js";

const identity = (scopes: string[], userId: string | undefined = "u1", authenticated = true): Identity => ({
  userId,
  tenant: "default",
  scopes,
  authenticated,
});

const ANONYMOUS: Identity = { tenant: "default", scopes: [], authenticated: false };

const bookedFor = (guestId: string): BookingState => {
  const events: BookingEvent[] = [
    {
      type: "RoomBooked",
      data: { bookingId: "B1", roomId: "R1", guestId, checkIn: "2026-05-10", checkOut: "2026-05-12", price: { amountMinor: 100, currency: "EUR" } },
    },
  ];
  return fold(booking, booking.initialState(), events);
};

const guarded: Policy<{ owner: string }> = {
  scopes: ["things:write"],
  rules: [{ scope: "things:own", description: "owner only", allows: (state, who) => state.owner === who.userId }],
};

describe("authorize", () => {
  it("grants an open policy to anyone, even unauthenticated", () => {
    assert.deepEqual(authorize(OPEN, ANONYMOUS), { kind: "granted" });
    assert.deepEqual(authorize(OPEN, identity([])), { kind: "granted" });
  });

  it("denies an unauthenticated identity with UNAUTHENTICATED", () => {
    const result = authorize(guarded as Policy, ANONYMOUS);
    assert.equal(result.kind, "denied");
    assert.equal(result.kind === "denied" && result.reason, "UNAUTHENTICATED");
  });

  it("denies unauthenticated even when the identity claims scopes", () => {
    const result = authorize(guarded as Policy, identity(["*"], undefined, false));
    assert.equal(result.kind === "denied" && result.reason, "UNAUTHENTICATED");
  });

  it("grants a caller holding one of the policy's scopes", () => {
    assert.deepEqual(authorize(guarded as Policy, identity(["things:write"])), { kind: "granted" });
    assert.deepEqual(authorize({ scopes: ["a", "b"] }, identity(["b"])), { kind: "granted" });
  });

  it("grants the wildcard scope", () => {
    assert.deepEqual(authorize(guarded as Policy, identity(["*"])), { kind: "granted" });
    assert.deepEqual(authorize(writeOwnBooking as Policy, TRUSTED_LOCAL), { kind: "granted" });
  });

  it("a caller holding only a rule's scope needs the state", () => {
    const result = authorize(writeOwnBooking as Policy, identity([SCOPES.own], "G1"));
    assert.equal(result.kind, "needs-state");
    assert.ok(result.kind === "needs-state");
    assert.equal(result.rules.length, 1);
    assert.equal(result.rules[0]!.scope, SCOPES.own);
  });

  it("only the rules whose scope the caller holds are returned", () => {
    const two: Policy = {
      scopes: ["w"],
      rules: [
        { scope: "r1", description: "one", allows: () => true },
        { scope: "r2", description: "two", allows: () => true },
      ],
    };
    const result = authorize(two, identity(["r2"]));
    assert.ok(result.kind === "needs-state");
    assert.deepEqual(result.rules.map((r) => r.description), ["two"]);
  });

  it("denies a caller with none of the scopes with PERMISSION_DENIED, listing the scopes", () => {
    const result = authorize(writeOwnBooking as Policy, identity(["bookings:read"]));
    assert.equal(result.kind, "denied");
    assert.ok(result.kind === "denied");
    assert.equal(result.reason, "PERMISSION_DENIED");
    assert.equal(result.message, "this call requires bookings:write, or bookings:own when the booking's guest is the caller; the caller holds bookings:read");
  });

  it("denies an authenticated caller with no scopes at all, saying the rule and what the caller holds", () => {
    const result = authorize({ scopes: ["a", "b"] }, identity([]), "x.Do");
    assert.ok(result.kind === "denied");
    assert.equal(result.reason, "PERMISSION_DENIED");
    assert.equal(result.message, "x.Do requires a or b; the caller holds no scopes");
  });

  it("lists at most ten of the caller's scopes in a denial", () => {
    const many = Array.from({ length: 12 }, (_, i) => `s${i}`);
    const result = authorize({ scopes: ["x"] }, identity(many), "x.Do");
    assert.ok(result.kind === "denied");
    assert.equal(result.message, "x.Do requires x; the caller holds s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 and 2 more");
  });

  it("describes a policy's rule in words: outright scopes, then each conditional grant", () => {
    assert.equal(describePolicy({ scopes: ["bookings:write", "payments:notify"] }), "bookings:write or payments:notify");
    assert.equal(describePolicy(writeOwnBooking as Policy), "bookings:write, or bookings:own when the booking's guest is the caller");
    assert.equal(describePolicy({ scopes: [], rules: writeOwnBooking.rules as never }), "bookings:own when the booking's guest is the caller");
  });

  it("narrows a policy to the scopes an edge lets through; nothing left when none passes", () => {
    assert.deepEqual(narrowPolicy({ scopes: ["bookings:write", "payments:notify"] }, ["bookings:write", "bookings:own"]), { scopes: ["bookings:write"], rules: [] });
    const narrowed = narrowPolicy(writeOwnBooking as Policy, ["bookings:own"]);
    assert.deepEqual([narrowed.scopes, narrowed.rules?.map((r) => r.scope)], [[], ["bookings:own"]]);
    assert.deepEqual(narrowPolicy({ scopes: ["payments:notify"] }, ["bookings:write"]), { scopes: [], rules: [] });
  });
});

describe("writeOwnBooking", () => {
  const rule = writeOwnBooking.rules![0]!;
  const guest = identity([SCOPES.own], "G1");

  it("is CancelBooking's policy", () => {
    assert.equal(cancelBooking.policy, writeOwnBooking);
  });

  it("staff with bookings:write are granted outright", () => {
    assert.deepEqual(authorize(writeOwnBooking as Policy, identity([SCOPES.write], "staff")), { kind: "granted" });
  });

  it("allows the guest's own booking", () => {
    assert.equal(rule.allows(bookedFor("G1"), guest, {}), true);
  });

  it("refuses another guest's booking", () => {
    assert.equal(rule.allows(bookedFor("G2"), guest, {}), false);
  });

  it("refuses a booking that does not exist yet", () => {
    assert.equal(rule.allows(booking.initialState(), identity([SCOPES.own], ""), {}), false);
    assert.equal(rule.allows(booking.initialState(), guest, {}), false);
  });

  it("refuses a caller without a user id", () => {
    assert.equal(rule.allows(bookedFor("G1"), identity([SCOPES.own], undefined), {}), false);
  });

  it("through authorize: a guest's rules pass only on their own booking", () => {
    const result = authorize(writeOwnBooking as Policy, guest);
    assert.ok(result.kind === "needs-state");
    assert.equal(result.rules.some((r) => r.allows(bookedFor("G1"), guest, {})), true);
    assert.equal(result.rules.some((r) => r.allows(bookedFor("G2"), guest, {})), false);
  });
});
