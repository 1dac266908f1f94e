import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ConnectError, Code } from "@connectrpc/connect";
import { BadRequestSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { BookRoomRequestSchema, CancelBookingRequestSchema, GetBookingRequestSchema, RecordPaymentRequestSchema, type BookRoomRequest } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { EdgeCall } from "../../src/edge/edge-service.js";
import { TRUSTED_LOCAL, type Identity } from "../../src/kernel/identity.js";
import { bookingServiceV1 } from "../../src/services/booking-v1/handlers.js";
import { commandServiceV1 } from "../../src/services/command-v1/handlers.js";
import { bookingApp } from "../support/booking-app.js";

const callAs = (identity: Identity = TRUSTED_LOCAL): EdgeCall => ({ method: "/booking.v1.BookingService/BookRoom", identity, header: () => undefined, log: {}, signal: new AbortController().signal });
const request = (bookingId: string, fields: MessageInitShape<typeof BookRoomRequestSchema>): BookRoomRequest =>
  create(BookRoomRequestSchema, { bookingId, roomId: bookingId, guestId: "G1", checkIn: "2026-06-01", checkOut: "2026-06-03", currency: "EUR", ...fields });

/** The field violations of a refused call. */
async function violations(call: Promise<unknown>): Promise<Array<{ field: string; description: string }>> {
  const error = await call.then(
    () => assert.fail("the call should fail"),
    (e: unknown) => ConnectError.from(e),
  );
  assert.equal(error.code, Code.InvalidArgument, error.message);
  return error.findDetails(BadRequestSchema)[0].fieldViolations.map(({ field, description }) => ({ field, description }));
}

describe("booking.v1 BookRoom: the price is called price", () => {
  const app = bookingApp();
  const service = bookingServiceV1(app, app.read);

  it("books with `price`, the domain's word, as GetBooking and the Execute payload call it", async () => {
    const booked = await service.impl.bookRoom(request("N1", { price: "240.00" }), callAs());
    assert.equal(booked.status, CommandStatus.ACCEPTED);
    assert.equal((await service.impl.getBooking(create(GetBookingRequestSchema, { bookingId: "N1" }), callAs())).price, "240.00");
  });

  it("still books with the deprecated `amount`", async () => {
    assert.equal((await service.impl.bookRoom(request("N2", { amount: "240.00" }), callAs())).status, CommandStatus.ACCEPTED);
    assert.equal((await service.impl.bookRoom(request("N3", { amount: "240.00", price: "240.00" }), callAs())).status, CommandStatus.ACCEPTED);
  });

  it("names a bad price `price`, and the description does not call it an amount", async () => {
    const [violation] = await violations(service.impl.bookRoom(request("N4", { price: "12.345" }), callAs()));
    assert.deepEqual(violation, { field: "price", description: 'EUR allows 2 decimal places, "12.345" has 3' });
    const [zero] = await violations(service.impl.bookRoom(request("N4", { price: "0" }), callAs()));
    assert.deepEqual(zero, { field: "price", description: "must be greater than zero" });
  });

  it("names a bad deprecated `amount` as the caller sent it", async () => {
    assert.deepEqual((await violations(service.impl.bookRoom(request("N5", { amount: "ten" }), callAs()))).map((v) => v.field), ["amount"]);
  });

  it("refuses a request whose price and amount differ, writing nothing", async () => {
    const [violation] = await violations(service.impl.bookRoom(request("N6", { price: "240.00", amount: "24.00" }), callAs()));
    assert.equal(violation.field, "price");
    assert.match(violation.description, /differ; send price only/);
    assert.equal((await app.store.readStream("default", "booking-N6")).length, 0);
  });

  it("the generic Execute names the payload's price the same way", async () => {
    const commands = commandServiceV1(app, {});
    const execute = { commandType: "booking.BookRoom", aggregateId: "N7", payload: { roomId: "R1", guestId: "G1", checkIn: "2026-06-01", checkOut: "2026-06-03", price: "abc", currency: "EUR" } };
    const [violation] = await violations(commands.impl.execute(execute as never, callAs()));
    assert.deepEqual(violation, { field: "payload.price", description: 'must be a decimal string such as "120.50"' });
  });
});

describe("booking.v1 authorization: a denial says the rule the caller failed", () => {
  const app = bookingApp();
  const service = bookingServiceV1(app, app.read);
  const token = (scopes: string[], userId = "guest-1"): Identity => ({ userId, tenant: "default", scopes, authenticated: true });
  const denial = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => assert.fail("the call should be refused"),
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(error.code, Code.PermissionDenied, error.message);
    return error.rawMessage;
  };
  const getBooking = (bookingId: string, identity: Identity) => service.impl.getBooking(create(GetBookingRequestSchema, { bookingId }), callAs(identity));

  it("a bookings:read or bookings:own caller of BookRoom hears that it requires bookings:write", async () => {
    assert.equal(await denial(service.impl.bookRoom(request("A1", { price: "1.00" }), callAs(token(["bookings:read"])))), "booking.BookRoom requires bookings:write; the caller holds bookings:read");
    assert.equal(await denial(service.impl.bookRoom(request("A1", { price: "1.00" }), callAs(token(["bookings:own"])))), "booking.BookRoom requires bookings:write; the caller holds bookings:own");
  });

  it("RecordPayment through booking.v1 requires bookings:write alone: payments:notify is the provider edge's", async () => {
    const message = await denial(service.impl.recordPayment(create(RecordPaymentRequestSchema, { bookingId: "A1" }), callAs(token(["bookings:own", "payments:notify"]))));
    assert.equal(message, "booking.RecordPayment requires bookings:write; the caller holds bookings:own payments:notify");
  });

  it("CancelBooking states the owner rule, to callers with no scope and to owners of another booking", async () => {
    await service.impl.bookRoom(request("A2", { price: "1.00", guestId: "guest-1" }), callAs());
    const cancel = (identity: Identity) => service.impl.cancelBooking(create(CancelBookingRequestSchema, { bookingId: "A2", reason: "x" }), callAs(identity));
    assert.equal(await denial(cancel(token([]))), "booking.CancelBooking requires bookings:write, or bookings:own when the booking's guest is the caller; the caller holds no scopes");
    assert.equal(
      await denial(cancel(token(["bookings:own"], "guest-2"))),
      "booking.CancelBooking with bookings:own is allowed only when the booking's guest is the caller; otherwise it requires bookings:write",
    );
  });

  it("bookings:own reads its own booking, and is refused another guest's and a missing one alike", async () => {
    await service.impl.bookRoom(request("A3", { price: "1.00", guestId: "guest-1" }), callAs());
    assert.equal((await getBooking("A3", token(["bookings:own"], "guest-1"))).guestId, "guest-1");
    const rule = "booking.v1.BookingService/GetBooking with bookings:own is allowed only when the booking's guest is the caller; otherwise it requires bookings:read";
    assert.equal(await denial(getBooking("A3", token(["bookings:own"], "guest-2"))), rule);
    assert.equal(await denial(getBooking("no-such-booking", token(["bookings:own"], "guest-2"))), rule);
    assert.equal((await getBooking("A3", token(["bookings:read"], "staff"))).bookingId, "A3");
    assert.equal(
      await denial(getBooking("A3", token(["bookings:write"]))),
      "booking.v1.BookingService/GetBooking requires bookings:read, or bookings:own when the booking's guest is the caller; the caller holds bookings:write",
    );
  });
});
