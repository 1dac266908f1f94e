import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { CommandResultSchema, CommandStatus, ExecuteRequestSchema, type CommandDescription } from "../../src/gen/switchyard/command/v1/command_pb.js";
import type { EdgeCall } from "../../src/edge/edge-service.js";
import { TRUSTED_LOCAL } from "../../src/kernel/identity.js";
import { EDGE_FIELDS, EDGE_ROUTES } from "../../src/services/index.js";
import { commandServiceV1 } from "../../src/services/command-v1/handlers.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";

const call: EdgeCall = { method: "/switchyard.command.v1.CommandService/DryRun", identity: TRUSTED_LOCAL, header: () => undefined, log: {}, signal: new AbortController().signal };

describe("CommandService.DryRun", () => {
  it("answers the CommandResult Execute would, with the events it would write at position 0, and writes nothing", async () => {
    const app = bookingApp();
    const service = commandServiceV1(app, EDGE_ROUTES, undefined, EDGE_FIELDS);
    const request = create(ExecuteRequestSchema, { commandType: "booking.BookRoom", aggregateId: "C1", payload: bookRoomPayload("C1"), requestId: "req-c1" });
    const dry = await service.impl.dryRun(request, call);
    assert.equal(dry.status, CommandStatus.ACCEPTED);
    assert.equal(dry.globalPosition, 0n);
    assert.deepEqual(dry.events?.map((e) => [e.type, e.revision, e.globalPosition]), [["RoomBooked", 1n, 0n], ["NightsReserved", 1n, 0n]]);
    assert.equal(await app.store.headPosition(), 0);
    assert.equal(await app.store.findRequest("default", "req-c1"), undefined);
    const real = await service.impl.execute(request, call);
    assert.equal(real.replayed, false);
    assert.deepEqual(real.events?.map((e) => e.globalPosition), [1n, 2n]);
    await app.close();
  });

  it("refuses as Execute does: invalid input by the edge's field names, a rejection with its code", async () => {
    const app = bookingApp();
    const service = commandServiceV1(app, EDGE_ROUTES, undefined, EDGE_FIELDS);
    const failure = (promise: Promise<unknown>) => promise.then(() => assert.fail("should fail"), (e: unknown) => ConnectError.from(e));
    const invalid = await failure(service.impl.dryRun(create(ExecuteRequestSchema, { commandType: "booking.RecordPayment", payload: { ...paymentPayload("C2", "P1"), amount: "lots" } }), call));
    assert.equal(invalid.code, Code.InvalidArgument);
    assert.match(invalid.rawMessage, /payload\.amount/);
    // An id given as aggregate_id alone is named so when it is wrong, not as the payload field it fills.
    const badId = await failure(service.impl.dryRun(create(ExecuteRequestSchema, { commandType: "booking.CancelBooking", aggregateId: "a b", payload: { reason: "x" } }), call));
    assert.deepEqual(badId.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["aggregate_id"], badId.rawMessage);
    await app.commands.bookRoom(bookRoomPayload("C2"));
    await app.commands.cancelBooking({ bookingId: "C2", reason: "plans changed" });
    const rejected = await failure(service.impl.dryRun(create(ExecuteRequestSchema, { commandType: "booking.RecordPayment", payload: paymentPayload("C2", "P1") }), call));
    assert.equal(rejected.code, Code.FailedPrecondition);
    assert.equal(rejected.findDetails(ErrorInfoSchema)[0].reason, "BOOKING_CANCELLED");
    assert.equal(rejected.findDetails(CommandResultSchema)[0].status, CommandStatus.REJECTED);
    // C2's RoomBooked and NightsReserved, BookingCancelled and NightsReleased: the dry run wrote nothing.
    assert.equal(await app.store.headPosition(), 4);
    await app.close();
  });
});

describe("CommandService.DescribeCommands", () => {
  const describeAll = async () => {
    const app = bookingApp();
    const { commands } = await commandServiceV1(app, EDGE_ROUTES, undefined, EDGE_FIELDS).impl.describeCommands({} as never, call);
    await app.close();
    return new Map((commands as CommandDescription[]).map((c) => [c.commandType, c]));
  };

  it("gives each command's payload as the JSON Schema of what a caller sends (before the schema's transforms)", async () => {
    const pay = (await describeAll()).get("booking.RecordPayment")!;
    const schema = pay.payloadSchema as { type: string; properties: Record<string, { type?: string }>; required: string[] };
    assert.equal(schema.type, "object");
    assert.equal(schema.properties.amount.type, "string");
    assert.deepEqual(schema.required.sort(), ["amount", "bookingId", "currency", "paidAt", "paymentId"]);
  });

  it("gives its policy: scopes, the rules that look at state, and the policy in words", async () => {
    const described = await describeAll();
    const cancel = described.get("booking.CancelBooking")!;
    assert.ok(cancel.policy!.scopes.includes("bookings:write"), JSON.stringify(cancel.policy));
    assert.deepEqual(cancel.policy!.rules.map((r) => r.scope), ["bookings:own"]);
    assert.match(cancel.policy!.description, /^bookings:write.*, or bookings:own when /);
    assert.deepEqual(described.get("booking.RecordPayment")!.rejectionCodes.sort(), ["BOOKING_CANCELLED", "CURRENCY_MISMATCH", "PAYMENT_IN_FUTURE"]);
  });

  it("gives every edge RPC that reaches it, with how its request names each payload field", async () => {
    const pay = (await describeAll()).get("booking.RecordPayment")!;
    const rpcs = new Map(pay.edgeRpcs.map((r) => [r.method, r.fieldMapping]));
    assert.deepEqual([...rpcs.keys()].sort(), [
      "/booking.v1.BookingService/RecordPayment",
      "/payments.v1.PaymentNotificationService/NotifyPaymentSucceeded",
      "/switchyard.command.v1.CommandService/DryRun",
      "/switchyard.command.v1.CommandService/Execute",
    ]);
    assert.deepEqual(pay.edgeMethods, [...rpcs.keys()]);
    assert.deepEqual(rpcs.get("/payments.v1.PaymentNotificationService/NotifyPaymentSucceeded"), {
      bookingId: "booking_reference",
      paymentId: "provider_payment_id",
      amount: "amount_minor",
      currency: "currency",
      paidAt: "occurred_at",
    });
    assert.equal(rpcs.get("/booking.v1.BookingService/RecordPayment")!.paidAt, "paid_at");
    assert.equal(rpcs.get("/switchyard.command.v1.CommandService/Execute")!.paidAt, "payload.paidAt");
  });
});
