import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { PaymentNotificationService } from "../../src/gen/payments/v1/payments_pb.js";
import { CommandResultSchema, CommandService, CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { eventually } from "../support/eventually.js";
import { failing, grpcJsClient, type GrpcJsClient } from "../support/grpc-client.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";

const run = promisify(execFile);
const BUF = join(import.meta.dirname, "..", "..", "node_modules", ".bin", "buf");
const paidAt = timestampFromDate(new Date("2026-01-15T10:00:00Z"));

describe("booking service over real ports", () => {
  let server: ServerProcess;
  let booking: GrpcJsClient<typeof BookingService>;
  let payments: GrpcJsClient<typeof PaymentNotificationService>;
  let commands: GrpcJsClient<typeof CommandService>;
  let events: GrpcJsClient<typeof EventStoreService>;
  let health: GrpcJsClient<typeof Health>;

  before(async () => {
    server = await startServerProcess();
    booking = grpcJsClient(BookingService, server.grpcAddress);
    payments = grpcJsClient(PaymentNotificationService, server.grpcAddress);
    commands = grpcJsClient(CommandService, server.grpcAddress);
    events = grpcJsClient(EventStoreService, server.grpcAddress);
    health = grpcJsClient(Health, server.grpcAddress);
  });
  after(async () => {
    for (const client of [booking, payments, commands, events, health]) client?.close();
    await server?.dispose();
  });

  it("runs the same RecordPayment command through booking.v1, payments.v1, the generic Execute and Connect JSON into one stream", async () => {
    const bookingId = newId("B");
    const booked = await booking.bookRoom(bookRoomRequest(bookingId));
    assert.equal(booked.status, CommandStatus.ACCEPTED);
    assert.equal(booked.revision, 1n);

    const viaBooking = await booking.recordPayment({ bookingId, paymentId: "P1", amount: "50.00", currency: "EUR", paidAt, requestId: newId("r") });
    const viaProvider = await payments.notifyPaymentSucceeded({
      providerPaymentId: "P2",
      bookingReference: bookingId,
      amountMinor: 5000n,
      currency: "EUR",
      occurredAt: paidAt,
    });
    const viaExecute = await commands.execute({
      commandType: "booking.RecordPayment",
      aggregateId: bookingId,
      payload: { paymentId: "P3", amount: "50.00", currency: "EUR", paidAt: "2026-01-15T10:00:00Z" },
      requestId: newId("r"),
    });
    const response = await fetch(`${server.httpUrl}/booking.v1.BookingService/RecordPayment`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ bookingId, paymentId: "P4", amount: "150.00", currency: "EUR", paidAt: "2026-01-15T10:00:00Z", requestId: newId("r") }),
    });
    assert.equal(response.status, 200);
    const viaConnect = (await response.json()) as { status: string; revision: string; events: Array<{ type: string }> };

    assert.deepEqual([viaBooking.revision, viaProvider.revision, viaExecute.revision], [2n, 3n, 4n]);
    assert.equal(viaConnect.status, "COMMAND_STATUS_ACCEPTED");
    assert.deepEqual(viaConnect.events.map((e) => e.type), ["PaymentRecorded", "BookingFullyPaid"]);

    // Paid in full: the confirm-paid-bookings reaction confirms it in a command of its own.
    await eventually("the booking is confirmed", async () => (await booking.getBooking({ bookingId })).status === "confirmed");
    const stream = await events.readStream({ streamId: `booking-${bookingId}` });
    assert.deepEqual(
      stream.events.map((e) => [e.type, (e.data as { paymentId?: string })?.paymentId ?? ""]),
      [["RoomBooked", ""], ["PaymentRecorded", "P1"], ["PaymentRecorded", "P2"], ["PaymentRecorded", "P3"], ["PaymentRecorded", "P4"], ["BookingFullyPaid", ""], ["BookingConfirmed", ""]],
    );
    assert.deepEqual(
      stream.events.filter((e) => e.type === "PaymentRecorded").map((e) => (e.data as { amount: unknown }).amount),
      [5000, 5000, 5000, 15000].map((amountMinor) => ({ amountMinor, currency: "EUR" })),
    );
    assert.equal(stream.events[2].metadata?.commandType, "booking.RecordPayment");
    assert.equal(stream.streamRevision, 7n);

    const state = await booking.getBooking({ bookingId });
    assert.deepEqual([state.status, state.paid, state.outstanding, state.revision], ["confirmed", "300.00", "0.00", 7n]);
  });

  it("replays a request id with the original result, marked replayed, and writes nothing", async () => {
    const bookingId = newId("B");
    await booking.bookRoom(bookRoomRequest(bookingId));
    const request = { bookingId, paymentId: "P1", amount: "10.00", currency: "EUR", paidAt, requestId: newId("pay") };
    const first = await booking.recordPayment(request);
    const again = await booking.recordPayment(request);
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true);
    assert.equal(again.revision, first.revision);
    assert.equal(again.commandId, first.commandId);
    assert.equal((await events.readStream({ streamId: `booking-${bookingId}` })).events.length, 2);

    const redelivered = { providerPaymentId: newId("pp"), bookingReference: bookingId, amountMinor: 100n, currency: "EUR", occurredAt: paidAt };
    const once = await payments.notifyPaymentSucceeded(redelivered);
    const twice = await payments.notifyPaymentSucceeded(redelivered);
    assert.deepEqual([once.replayed, twice.replayed, twice.revision], [false, true, once.revision]);
  });

  it("names the bad field as each edge spells it, before touching storage", async () => {
    const missing = newId("never-booked");
    const before = (await events.readAll({})).events.length;
    const viaBooking = await failing(booking.recordPayment({ bookingId: missing, paymentId: "P1", amount: "12.345", currency: "EUR", paidAt, requestId: "x1" }));
    const viaProvider = await failing(payments.notifyPaymentSucceeded({ providerPaymentId: "pp", bookingReference: missing, amountMinor: -5n, currency: "EUR", occurredAt: paidAt }));
    const viaExecute = await failing(
      commands.execute({ commandType: "booking.RecordPayment", aggregateId: missing, payload: { paymentId: "P1", amount: "abc", currency: "EUR", paidAt: "2026-01-15T10:00:00Z" } }),
    );
    const fieldsOf = (f: Awaited<ReturnType<typeof failing>>) => f.badRequest?.fieldViolations.map((v) => v.field);
    for (const failure of [viaBooking, viaProvider, viaExecute]) {
      assert.equal(failure.code, grpc.status.INVALID_ARGUMENT, failure.message);
      assert.equal(failure.errorInfo?.domain, "switchyard.dev");
      assert.equal(failure.errorInfo?.reason, "VALIDATION_FAILED");
      assert.equal(failure.commandResult?.status, CommandStatus.INVALID);
    }
    assert.deepEqual(fieldsOf(viaBooking), ["amount"]);
    assert.deepEqual(fieldsOf(viaProvider), ["amount_minor"]);
    assert.deepEqual(fieldsOf(viaExecute), ["payload.amount"]);
    assert.match(viaBooking.message, /amount: EUR allows 2 decimal places/);

    const many = await failing(booking.bookRoom({ ...bookRoomRequest(newId("B")), checkOut: "2029-12-01", currency: "EURO", guestId: "" }));
    assert.deepEqual(fieldsOf(many)?.sort(), ["check_out", "currency", "guest_id"]);
    const noPaidAt = await failing(booking.recordPayment({ bookingId: missing, paymentId: "P1", amount: "1.00", currency: "EUR" }));
    assert.deepEqual(fieldsOf(noPaidAt), ["paid_at"]);
    assert.equal((await events.readAll({})).events.length, before, "nothing was written");
  });

  it("maps every outcome to the status, ErrorInfo reason and details of the error table", async () => {
    const bookingId = newId("B");
    await booking.bookRoom(bookRoomRequest(bookingId));

    const exists = await failing(booking.bookRoom(bookRoomRequest(bookingId)));
    assert.deepEqual([exists.code, exists.errorInfo?.reason, exists.commandResult?.status], [grpc.status.ALREADY_EXISTS, "AGGREGATE_ALREADY_EXISTS", CommandStatus.ALREADY_EXISTS]);

    const notFound = await failing(booking.cancelBooking({ bookingId: newId("nope"), reason: "x" }));
    assert.deepEqual([notFound.code, notFound.errorInfo?.reason], [grpc.status.NOT_FOUND, "AGGREGATE_NOT_FOUND"]);

    const stale = await failing(booking.recordPayment({ bookingId, paymentId: "P1", amount: "1.00", currency: "EUR", paidAt, expectedRevision: 7n }));
    assert.deepEqual([stale.code, stale.errorInfo?.reason, stale.errorInfo?.metadata.expectedRevision, stale.errorInfo?.metadata.actualRevision], [
      grpc.status.ABORTED,
      "REVISION_CONFLICT",
      "7",
      "1",
    ]);
    assert.equal(stale.commandResult?.expectedRevision, 7n);

    await booking.cancelBooking({ bookingId, reason: "plans changed", expectedRevision: 1n });
    const twice = await failing(booking.cancelBooking({ bookingId, reason: "again" }));
    assert.deepEqual([twice.code, twice.errorInfo?.reason, twice.commandResult?.code], [grpc.status.FAILED_PRECONDITION, "BOOKING_ALREADY_CANCELLED", "BOOKING_ALREADY_CANCELLED"]);
    assert.equal(twice.preconditionFailure?.violations[0].type, "BOOKING_ALREADY_CANCELLED");

    const unknown = await failing(commands.execute({ commandType: "booking.Teleport", aggregateId: bookingId, payload: {} }));
    assert.deepEqual([unknown.code, unknown.errorInfo?.reason], [grpc.status.INVALID_ARGUMENT, "UNKNOWN_COMMAND"]);

    const requestId = newId("reuse");
    await booking.recordPayment({ bookingId, paymentId: "P9", amount: "1.00", currency: "EUR", paidAt, requestId }).catch(() => undefined);
    const reused = await failing(booking.cancelBooking({ bookingId, reason: "other", requestId }));
    assert.deepEqual([reused.code, reused.errorInfo?.reason], [grpc.status.INVALID_ARGUMENT, "REQUEST_ID_REUSED"]);
  });

  it("answers undecodable bytes with INVALID_ARGUMENT, not INTERNAL, and keeps serving", async () => {
    const client = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
    const failure = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest(
        "/booking.v1.BookingService/BookRoom",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        (error) => resolve(error as grpc.ServiceError),
      ),
    );
    client.close();
    assert.equal(failure.code, grpc.status.INVALID_ARGUMENT);
    assert.match(failure.details, /not a valid booking\.v1\.BookRoomRequest/);
    assert.equal((await health.check({})).status, HealthCheckResponse_ServingStatus.SERVING);
  });

  it("serves a Connect client over HTTP with the same rich errors", async () => {
    const client = createClient(BookingService, createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }));
    const bookingId = newId("B");
    const ok = await client.bookRoom(bookRoomRequest(bookingId));
    assert.equal(ok.status, CommandStatus.ACCEPTED);
    const error = await client.recordPayment({ bookingId, paymentId: "P", amount: "1.001", currency: "EUR", paidAt }).then(
      () => assert.fail("expected INVALID_ARGUMENT"),
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(error.code, Code.InvalidArgument);
    assert.deepEqual(error.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["amount"]);
    assert.equal(error.findDetails(ErrorInfoSchema)[0].reason, "VALIDATION_FAILED");
    assert.equal(error.findDetails(CommandResultSchema)[0].status, CommandStatus.INVALID);
  });

  it("describes every command with its JSON Schema, stream expectation, rejection codes and edges", async () => {
    const { commands: described } = await commands.describeCommands({});
    const byType = new Map(described.map((c) => [c.commandType, c]));
    assert.deepEqual([...byType.keys()].sort(), ["booking.BookRoom", "booking.CancelBooking", "booking.CancelUnpaidBooking", "booking.ConfirmBooking", "booking.RecordPayment"]);
    const pay = byType.get("booking.RecordPayment")!;
    assert.equal(pay.streamExpectation, "must-exist");
    assert.deepEqual(pay.rejectionCodes.sort(), ["BOOKING_CANCELLED", "CURRENCY_MISMATCH", "PAYMENT_IN_FUTURE"]);
    assert.deepEqual(pay.edgeMethods.sort(), [
      "/booking.v1.BookingService/RecordPayment",
      "/payments.v1.PaymentNotificationService/NotifyPaymentSucceeded",
      "/switchyard.command.v1.CommandService/DryRun",
      "/switchyard.command.v1.CommandService/Execute",
    ]);
    const schema = pay.payloadSchema as { type: string; properties: Record<string, unknown>; required: string[] };
    assert.equal(schema.type, "object");
    assert.deepEqual(Object.keys(schema.properties).sort(), ["amount", "bookingId", "currency", "paidAt", "paymentId"]);
    assert.equal(byType.get("booking.BookRoom")!.streamExpectation, "must-be-new");
  });

  it("is debuggable with buf curl through server reflection alone", async () => {
    const curl = (...args: string[]) => run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 30_000 });
    const listed = (await curl("--list-services", `http://${server.grpcAddress}`)).stdout.split("\n").filter(Boolean).sort();
    assert.deepEqual(listed, [
      "booking.v1.BookingService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "payments.v1.PaymentNotificationService",
      "switchyard.command.v1.CommandService",
      "switchyard.eventstore.v1.EventStoreService",
      "switchyard.query.v1.QueryService",
    ]);
    const bookingId = newId("B");
    const booked = JSON.parse((await curl("-d", JSON.stringify(bookRoomRequest(bookingId)), `http://${server.grpcAddress}/booking.v1.BookingService/BookRoom`)).stdout);
    assert.equal(booked.status, "COMMAND_STATUS_ACCEPTED");
    const read = JSON.parse((await curl("-d", JSON.stringify({ streamId: `booking-${bookingId}` }), `http://${server.grpcAddress}/switchyard.eventstore.v1.EventStoreService/ReadStream`)).stdout);
    assert.equal(read.events[0].type, "RoomBooked");
    assert.equal(read.events[0].data.price.amountMinor, 30000);
  });

  it("logs one structured line per RPC with method, code, duration, request id and correlation id", async () => {
    const requestId = newId("logged");
    await booking.bookRoom(bookRoomRequest(newId("B"), { requestId }), { "x-correlation-id": "corr-42" });
    await eventually("the rpc log line", async () => server.logs.some((l) => l.msg === "rpc" && l.requestId === requestId));
    const line = server.logs.find((l) => l.msg === "rpc" && l.requestId === requestId);
    assert.ok(line, "an rpc log line for the request");
    assert.deepEqual([line.method, line.code, line.correlationId], ["/booking.v1.BookingService/BookRoom", "OK", "corr-42"]);
    assert.equal(typeof line.durationMs, "number");
  });
});
