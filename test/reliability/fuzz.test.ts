// Bad input, fuzzed: every RPC on both ports gets random bytes, truncated, doubled and oversized
// frames, protobuf with wrong wire types and invalid UTF-8, unknown fields, extreme numbers,
// empty and 1 MB strings, deep and wide Struct payloads, and (HTTP port) broken JSON. The server
// must answer each call with a code the case allows (table below), name the problem, never crash,
// never answer INTERNAL/UNKNOWN, write nothing for a failed call, serve a normal call afterwards,
// and give its memory back. Every method is covered: the unary ones (grpc.health.v1.Health Check
// and List among them) in the main mix; the streaming ones (EventStoreService.Subscribe, Health
// Watch, and the bidi ServerReflectionInfo of grpc.reflection.v1 and v1alpha) in a smaller mix of
// their own, each call read until its status or its first message and then cancelled.
//
// Allowed answers:
//   undecodable bytes or JSON, truncated/empty/doubled frames   INVALID_ARGUMENT (MALFORMED_REQUEST where Switchyard answers)
//   a message or declared frame larger than MAX_MESSAGE_BYTES     RESOURCE_EXHAUSTED
//   Execute payload deeper than MAX_PAYLOAD_DEPTH or with more
//   than MAX_PAYLOAD_FIELDS values (and decodable)                INVALID_ARGUMENT with a BadRequest violation on `payload`
//   a well-formed request, by method:
//     BookRoom                                   OK, INVALID_ARGUMENT, ALREADY_EXISTS, FAILED_PRECONDITION
//     RecordPayment, CancelBooking               OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ABORTED (expected_revision)
//     NotifyPaymentSucceeded                     OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION
//     Execute, DryRun                            all of the above
//     GetBooking                                 OK, INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE (min_position not reached)
//     ListBookings                               OK, INVALID_ARGUMENT, UNAVAILABLE (min_position not reached)
//     QueryService Fetch, Find                   OK, INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE; ListCollections OK
//     ReadStream                                 OK, INVALID_ARGUMENT, NOT_FOUND (a stream that does not exist)
//     ReadAll                                    OK, INVALID_ARGUMENT
//     DescribeCommands                           OK
//     Health/Check                               OK, INVALID_ARGUMENT (INVALID_SERVICE_NAME: over 200 characters),
//                                                NOT_FOUND (a service not served here)
//     Health/List                                OK
//   a gzip frame that does not decompress is INVALID_ARGUMENT on both ports (grpc-js's own INTERNAL
//   for it is rewritten by src/edge/grpc-js-statuses.ts; grpc-js 1.14.3 crashed the process instead).
// Every INVALID_ARGUMENT carries a message; Switchyard's carry ErrorInfo (domain switchyard.dev) and,
// for VALIDATION_FAILED, a BadRequest whose violations name a field.
//
// Streaming calls (the client cancels each once it has what it needs, so none stays open):
//   Subscribe   undecodable or badly framed: INVALID_ARGUMENT (MALFORMED_REQUEST); event_types over 100
//               or one over 200 characters, stream_id_prefix over 200: INVALID_ARGUMENT (VALIDATION_FAILED
//               naming the field); otherwise open (a first SubscribeResponse arrives, then the client
//               cancels), OUT_OF_RANGE for an after_position past the head, RESOURCE_EXHAUSTED at
//               MAX_SUBSCRIPTIONS; with a short deadline, DEADLINE_EXCEEDED (or CANCELLED) instead of open
//   Watch       undecodable: INVALID_ARGUMENT; a service name over 200 characters: INVALID_ARGUMENT;
//               otherwise open, its first message SERVING for a served name and SERVICE_UNKNOWN for any other
//   ServerReflectionInfo (v1, v1alpha; 1 to 3 requests, then the request side closes)
//               all decodable: OK with one response per request, a lookup that fails answered inside it
//               (error_response NOT_FOUND or INVALID_ARGUMENT); an undecodable request: INVALID_ARGUMENT
//               (after the answers to those before it); a frame declared past MAX_MESSAGE_BYTES:
//               RESOURCE_EXHAUSTED; a truncated last frame: INVALID_ARGUMENT, or on the gRPC port OK
//               with the whole requests answered (grpc-js drops a partial frame at the end of a stream)
// Reflection is a bidi stream, which connect-node serves only over HTTP/2: on the HTTP port it is
// fuzzed over h2c (gRPC); Connect and gRPC-Web over HTTP/1.1 cannot reach it (HTTP 505).
// The server runs with MAX_SUBSCRIPTIONS=64: after each port's streaming mix exactly 64 subscriptions
// open and the 65th is RESOURCE_EXHAUSTED, so a subscription the fuzz left counted would show.
//
// FUZZ_SEED=<n> replays a run; FUZZ_CALLS=<n> changes the calls per port (default 10,000);
// FUZZ_STREAM_CALLS=<n> the streaming calls per port (default 600).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { create, fromBinary, fromJsonString, toBinary, toJsonString, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import fc from "fast-check";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { PaymentNotificationService } from "../../src/gen/payments/v1/payments_pb.js";
import { CommandResultSchema, CommandService } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { QueryService } from "../../src/gen/switchyard/query/v1/query_pb.js";
import { Health, HealthCheckResponse_ServingStatus, HealthCheckResponseSchema } from "../../src/gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../src/gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { SubscribeResponseSchema } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import {
  connectUnary,
  fetchStream,
  frame,
  grpcJsRaw,
  grpcJsStream,
  grpcWeb,
  h2Grpc,
  h2GrpcStream,
  type Outcome,
  type StreamOutcome,
} from "../support/raw-rpc.js";
import { eventually } from "../support/eventually.js";
import { grpcJsClient } from "../support/grpc-client.js";
import { subscribeGrpc } from "../support/subscriber.js";
import { reliabilityRow } from "../support/reliability.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const S = grpc.status;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
const CALLS_PER_PORT = Number(process.env.FUZZ_CALLS ?? 10_000);
const WARM_UP_CALLS = Number(process.env.FUZZ_WARM_UP ?? 10_000);
const STREAM_CALLS_PER_PORT = Number(process.env.FUZZ_STREAM_CALLS ?? 600);
/** Streaming calls in flight per port (each a subscription or a watch while it is open). */
const STREAMS_IN_FLIGHT = 16;
/** MAX_SUBSCRIPTIONS of the server under test: above STREAMS_IN_FLIGHT, small enough to open them all. */
const MAX_SUBSCRIPTIONS = 64;
const IN_FLIGHT = 32;
const BATCH = 2000;
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024; // the default; the server runs with it
const LIMITS = { depth: 32, fields: 10_000 }; // MAX_PAYLOAD_DEPTH and MAX_PAYLOAD_FIELDS defaults
const ONE_MB = "m".repeat(1024 * 1024);
const BOOKINGS = ["fz-1", "fz-2", "fz-3", "fz-4", "fz-5"]; // booked before the fuzz, so commands can reach them
const REUSED_REQUEST_IDS = ["fz-req-a", "fz-req-b", "fz-req-c"]; // shared by many calls: replays and REQUEST_ID_REUSED

// ---------------------------------------------------------------------------------------------
// The RPCs and what a well-formed request to each may be answered with.

interface Rpc {
  readonly method: DescMethod;
  readonly path: string;
  readonly input: DescMessage;
  readonly allowed: ReadonlySet<number>;
  /** Returns a CommandResult. */
  readonly command: boolean;
}

const COMMAND_CODES = [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.ALREADY_EXISTS, S.FAILED_PRECONDITION, S.ABORTED];
const ALLOWED: Record<string, number[]> = {
  "booking.v1.BookingService/BookRoom": [S.OK, S.INVALID_ARGUMENT, S.ALREADY_EXISTS, S.FAILED_PRECONDITION],
  "booking.v1.BookingService/RecordPayment": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.ABORTED],
  "booking.v1.BookingService/CancelBooking": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.ABORTED],
  // UNAVAILABLE: a min_position not reached shortly before the call's deadline (NOT_CAUGHT_UP);
  // DEADLINE_EXCEEDED: the deadline came first (a loaded event loop can miss the margin).
  "booking.v1.BookingService/GetBooking": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.UNAVAILABLE, S.DEADLINE_EXCEEDED],
  "booking.v1.BookingService/ListBookings": [S.OK, S.INVALID_ARGUMENT, S.UNAVAILABLE, S.DEADLINE_EXCEEDED],
  "switchyard.query.v1.QueryService/ListCollections": [S.OK],
  "switchyard.query.v1.QueryService/Fetch": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.UNAVAILABLE, S.DEADLINE_EXCEEDED],
  "switchyard.query.v1.QueryService/Find": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.UNAVAILABLE, S.DEADLINE_EXCEEDED],
  "payments.v1.PaymentNotificationService/NotifyPaymentSucceeded": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION],
  "switchyard.command.v1.CommandService/Execute": COMMAND_CODES,
  "switchyard.command.v1.CommandService/DescribeCommands": [S.OK],
  "switchyard.command.v1.CommandService/DryRun": COMMAND_CODES,
  // Scheduling is authorized against the target command's policy now; dead letters need credentials and schedules:admin.
  "switchyard.command.v1.CommandService/ScheduleCommand": [...COMMAND_CODES, S.PERMISSION_DENIED, S.UNAUTHENTICATED],
  "switchyard.command.v1.CommandService/CancelScheduledCommand": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.PERMISSION_DENIED, S.UNAUTHENTICATED],
  "switchyard.command.v1.CommandService/ListScheduledCommands": [S.OK, S.INVALID_ARGUMENT],
  "switchyard.command.v1.CommandService/ListDeadLetters": [S.OK, S.INVALID_ARGUMENT, S.PERMISSION_DENIED, S.UNAUTHENTICATED],
  "switchyard.command.v1.CommandService/RetryDeadLetter": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.PERMISSION_DENIED, S.UNAUTHENTICATED],
  "switchyard.command.v1.CommandService/DiscardDeadLetter": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.PERMISSION_DENIED, S.UNAUTHENTICATED],
  "switchyard.eventstore.v1.EventStoreService/ReadStream": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND],
  "switchyard.eventstore.v1.EventStoreService/ReadAll": [S.OK, S.INVALID_ARGUMENT],
  "grpc.health.v1.Health/Check": [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND],
  "grpc.health.v1.Health/List": [S.OK],
};
/** Streaming methods, fuzzed in their own mix (STREAM_STRUCTURED and streamExpectation below). */
const STREAMING = new Set([
  "switchyard.eventstore.v1.EventStoreService/Subscribe",
  "grpc.health.v1.Health/Watch",
  "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
]);

const SERVICES: DescService[] = [BookingService, PaymentNotificationService, CommandService, EventStoreService, QueryService, Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection];
const ALL_RPCS: Rpc[] = SERVICES.flatMap((service) =>
  service.methods.map((method) => {
    const key = `${service.typeName}/${method.name}`;
    assert.ok(method.methodKind === "unary" ? ALLOWED[key] : STREAMING.has(key), `the fuzz covers ${key}`);
    return { method, path: `/${key}`, input: method.input, allowed: new Set(ALLOWED[key] ?? []), command: method.output.typeName === CommandResultSchema.typeName };
  }),
);
const RPCS = ALL_RPCS.filter((r) => r.method.methodKind === "unary");
const STREAM_RPCS = ALL_RPCS.filter((r) => r.method.methodKind !== "unary");
const rpc = (name: string) => RPCS.find((r) => r.method.name === name)!;

// ---------------------------------------------------------------------------------------------
// Adversarial field values.

const adversarialString = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 80 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom("", " ", "\u0000", "\uFFFD", "\uD800", "\u202E", "'; DROP TABLE events; --", "../../etc/passwd", "%00", "NaN", "-0", "1e309", "null", "{}", "__proto__"),
  },
  { weight: 2, arbitrary: fc.constantFrom(63, 64, 65, 127, 128, 129, 200, 201, 500, 501, 4096).map((n) => "a".repeat(n)) },
);
const freshId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/).map((s) => `fz${s}`.slice(0, 64));
const idLike = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...BOOKINGS) }, { weight: 3, arbitrary: freshId }, { weight: 3, arbitrary: adversarialString });
const amount = fc.oneof(fc.constantFrom("10.00", "1", "0.01", "300.00"), fc.constantFrom("12.345", "-1", "0", "1e3", "", "999999999999999.99", "1.", ".5", "١٢٣"), adversarialString);
const currency = fc.oneof(fc.constantFrom("EUR", "JPY", "BHD", "USD"), fc.constantFrom("eur", "XYZ", "EURO", ""), adversarialString);
const calendarDate = fc.oneof(fc.constantFrom("2030-01-01", "2030-06-15", "2031-02-28"), fc.constantFrom("2030-02-30", "2020-01-01", "30-01-01", "2030-1-1", ""), adversarialString);
const requestId = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.constantFrom(...REUSED_REQUEST_IDS) },
  { weight: 2, arbitrary: adversarialString },
);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const uint64 = fc.oneof(fc.constantFrom(0n, 1n, 2n, 5n, 2n ** 53n + 1n, 2n ** 63n, UINT64_MAX), fc.bigInt({ min: 0n, max: UINT64_MAX }));
const int64 = fc.oneof(fc.constantFrom(0n, -1n, 1n, 100n, 5000n, 10n ** 12n, 10n ** 12n + 1n, INT64_MAX, INT64_MIN), fc.bigInt({ min: INT64_MIN, max: INT64_MAX }));
const uint32 = fc.oneof(fc.constantFrom(0, 1, 10, 1000, 10_000, 10_001, 2 ** 31, 2 ** 32 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
const timestamp = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.integer({ min: 1_767_225_600, max: 1_767_225_600 + 300 * 86_400 }).map((s) => ({ seconds: BigInt(s), nanos: 0 })) },
  {
    weight: 3,
    arbitrary: fc.record({
      seconds: fc.oneof(fc.constantFrom(INT64_MIN, INT64_MAX, -62_135_596_801n, 253_402_300_800n, 0n), fc.bigInt({ min: INT64_MIN, max: INT64_MAX })),
      nanos: fc.oneof(fc.constantFrom(-1, 1_000_000_000, 2 ** 31 - 1, -(2 ** 31)), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    }),
  },
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
/** A JSON value that is not what the field wants. */
const wrongType = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, 0, -1, true, [], {}, 1e308, -0));

// ---------------------------------------------------------------------------------------------
// Well-formed-ish requests per RPC (protobuf-es init shapes; undefined keys are left out).

const bookRoomPayload = fc.record(
  {
    bookingId: fc.oneof(idLike, wrongType),
    roomId: fc.oneof(idLike, wrongType),
    guestId: fc.oneof(idLike, wrongType),
    checkIn: fc.oneof(calendarDate, wrongType),
    checkOut: fc.oneof(calendarDate, wrongType),
    price: fc.oneof(amount, wrongType),
    currency: fc.oneof(currency, wrongType),
  },
  { requiredKeys: [] },
);
const recordPaymentPayload = fc.record(
  {
    bookingId: fc.oneof(idLike, wrongType),
    paymentId: fc.oneof(idLike, wrongType),
    amount: fc.oneof(amount, wrongType),
    currency: fc.oneof(currency, wrongType),
    paidAt: fc.oneof(fc.constantFrom("2026-01-15T10:00:00Z", "2026-13-01T00:00:00Z", "2999-01-01T00:00:00Z", "yesterday"), adversarialString, wrongType),
  },
  { requiredKeys: [] },
);
const cancelPayload = fc.record({ bookingId: fc.oneof(idLike, wrongType), reason: fc.oneof(adversarialString, fc.constant("a".repeat(501)), wrongType) }, { requiredKeys: [] });
const junkPayload = fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "toString", "bookingId", "")), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });

/** `{a: {a: … "x"}}` with `depth` objects (the payload itself is level 1); lists alternate in when `lists`. */
function nested(depth: number, lists: boolean): Record<string, unknown> {
  let value: unknown = "x";
  for (let level = depth; level > 1; level--) value = lists && level % 2 === 0 ? [value] : { a: value };
  return { a: value };
}
/** A flat payload with `count` values, or one list holding them. */
function wide(count: number, asList: boolean): Record<string, unknown> {
  if (asList) return { items: Array.from({ length: count - 1 }, (_, i) => i) };
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
}
const bigPayload = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 25, max: 60 }), fc.boolean()).map(([d, l]) => nested(d, l)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 9_990, max: 10_010 }), fc.boolean()).map(([n, l]) => wide(n, l)) },
  { weight: 1, arbitrary: fc.integer({ min: 10_001, max: 30_000 }).map((n) => wide(n, true)) },
);

/** The names health knows ("" is the whole server); any other is NOT_FOUND / SERVICE_UNKNOWN. */
const SERVED_NAMES = ["", BookingService.typeName, PaymentNotificationService.typeName, CommandService.typeName, EventStoreService.typeName];
const healthServiceName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SERVED_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom("grpc.health.v1.Health", "booking.v1.BookingService ", "BOOKING.V1.BOOKINGSERVICE", "booking.v1") },
  { weight: 4, arbitrary: adversarialString },
  { weight: 1, arbitrary: fc.constantFrom(199, 200, 201, 100_000).map((n) => "s".repeat(n)) },
);

const COMMAND_TYPES = ["booking.BookRoom", "booking.RecordPayment", "booking.CancelBooking"];
const executeRequest = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(...COMMAND_TYPES).chain((commandType) =>
      fc.record(
        {
          commandType: fc.constant(commandType),
          aggregateId: fc.oneof(fc.constant(""), idLike),
          payload: commandType === "booking.BookRoom" ? bookRoomPayload : commandType === "booking.RecordPayment" ? recordPaymentPayload : cancelPayload,
          requestId,
          expectedRevision: maybe(uint64),
        },
        { requiredKeys: ["commandType", "payload"] },
      ),
    ),
  },
  { weight: 2, arbitrary: fc.record({ commandType: fc.oneof(adversarialString, fc.constantFrom(...COMMAND_TYPES)), aggregateId: idLike, payload: junkPayload, requestId }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ commandType: fc.constantFrom(...COMMAND_TYPES, "booking.Nope"), aggregateId: idLike, payload: bigPayload }) },
);

const STRUCTURED: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  BookRoom: fc.record({ bookingId: idLike, roomId: idLike, guestId: idLike, checkIn: calendarDate, checkOut: calendarDate, amount, currency, requestId }, { requiredKeys: [] }),
  RecordPayment: fc.record(
    { bookingId: idLike, paymentId: idLike, amount, currency, paidAt: timestamp, requestId, expectedRevision: maybe(uint64) },
    { requiredKeys: [] },
  ),
  CancelBooking: fc.record({ bookingId: idLike, reason: fc.oneof(adversarialString, fc.constant("plans changed")), requestId, expectedRevision: maybe(uint64) }, { requiredKeys: [] }),
  GetBooking: fc.record({ bookingId: idLike }, { requiredKeys: [] }),
  ListBookings: fc.record(
    {
      pageSize: fc.integer({ min: -5, max: 2000 }),
      pageToken: fc.oneof(adversarialString, fc.constant("")),
      status: fc.oneof(fc.constantFrom("booked", "fully_paid", "cancelled"), adversarialString),
      guestId: idLike,
      checkInFrom: calendarDate,
      checkInBefore: calendarDate,
      orderBy: fc.oneof(fc.constantFrom("check_in", "create_time desc", ""), adversarialString),
    },
    { requiredKeys: [] },
  ),
  ListCollections: fc.constant({}),
  Fetch: fc.record({ collection: fc.oneof(fc.constantFrom("bookings", "guest_stays"), adversarialString), id: fc.oneof(fc.constantFrom(...BOOKINGS), idLike) }, { requiredKeys: [] }),
  Find: fc.record(
    {
      collection: fc.oneof(fc.constantFrom("bookings", "guest_stays"), adversarialString),
      filter: fc.oneof(fc.constant({ status: "booked" }), fc.dictionary(adversarialString, fc.oneof(adversarialString, fc.integer(), fc.constant(null)), { maxKeys: 3 })),
      orderBy: fc.oneof(fc.constantFrom("checkIn desc", "guestId", ""), adversarialString),
      pageSize: fc.integer({ min: -5, max: 2000 }),
      pageToken: fc.oneof(adversarialString, fc.constant("")),
    },
    { requiredKeys: [] },
  ),
  NotifyPaymentSucceeded: fc.record(
    { providerPaymentId: idLike, bookingReference: idLike, amountMinor: int64, currency, occurredAt: timestamp, requestId },
    { requiredKeys: [] },
  ),
  Execute: executeRequest,
  DryRun: executeRequest,
  DescribeCommands: fc.constant({}),
  ScheduleCommand: fc
    .tuple(executeRequest, fc.oneof(fc.constant(undefined), fc.record({ case: fc.constant("delay" as const), value: fc.record({ seconds: fc.bigInt({ min: -5n, max: 10n ** 12n }), nanos: fc.integer({ min: -1, max: 10 ** 9 }) }) })))
    .map(([request, when]) => {
      const { expectedRevision: _, ...rest } = request as Record<string, unknown>;
      return when ? { ...rest, when } : rest;
    }),
  CancelScheduledCommand: fc.record({ scheduleId: fc.oneof(idLike, adversarialString) }, { requiredKeys: [] }),
  ListScheduledCommands: fc.record({ pageSize: fc.integer({ min: -5, max: 2000 }), pageToken: fc.oneof(adversarialString, fc.constant("")) }, { requiredKeys: [] }),
  ListDeadLetters: fc.record({ pageSize: fc.integer({ min: -5, max: 2000 }), pageToken: fc.oneof(adversarialString, fc.constant("")) }, { requiredKeys: [] }),
  RetryDeadLetter: fc.record({ scheduleId: fc.oneof(idLike, adversarialString) }, { requiredKeys: [] }),
  DiscardDeadLetter: fc.record({ scheduleId: fc.oneof(idLike, adversarialString) }, { requiredKeys: [] }),
  ReadStream: fc.record({ streamId: fc.oneof(fc.constantFrom(...BOOKINGS.map((b) => `booking-${b}`)), adversarialString), fromRevision: uint64, maxCount: uint32 }, { requiredKeys: [] }),
  ReadAll: fc.record(
    {
      fromPosition: uint64,
      maxCount: fc.constantFrom(0, 1, 10, 100),
      eventTypes: fc.oneof(
        { weight: 5, arbitrary: fc.array(fc.oneof(fc.constantFrom("RoomBooked", "PaymentRecorded"), adversarialString), { maxLength: 5 }) },
        { weight: 1, arbitrary: fc.integer({ min: 99, max: 150 }).map((n) => Array.from({ length: n }, (_, i) => `T${i}`)) },
      ),
    },
    { requiredKeys: [] },
  ),
  Check: fc.record({ service: healthServiceName }, { requiredKeys: [] }),
  List: fc.constant({}),
};

/** Requests that should be accepted, so the store check also sees writes (and replays, on reused ids). */
const uniqueId = fc.uuid().map((u) => `fz-${u.slice(0, 23)}`);
const pastInstant = fc.integer({ min: 1_767_225_600, max: 1_767_225_600 + 200 * 86_400 });
const validRequestId = fc.oneof(fc.constant(""), fc.uuid(), fc.constantFrom(...REUSED_REQUEST_IDS));
const VALID: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  BookRoom: fc.record({
    bookingId: uniqueId,
    // A room of its own: bookings of one room for the same nights are refused ROOM_UNAVAILABLE.
    roomId: uniqueId,
    guestId: fc.constant("G1"),
    checkIn: fc.constant("2030-05-01"),
    checkOut: fc.constant("2030-05-04"),
    amount: fc.constant("100.00"),
    currency: fc.constant("EUR"),
    requestId: validRequestId,
  }),
  RecordPayment: fc.record({
    bookingId: fc.constantFrom(...BOOKINGS),
    paymentId: uniqueId,
    amount: fc.constant("1.00"),
    currency: fc.constant("EUR"),
    paidAt: pastInstant.map((s) => ({ seconds: BigInt(s), nanos: 0 })),
    requestId: validRequestId,
  }),
  NotifyPaymentSucceeded: fc.record({
    providerPaymentId: uniqueId,
    bookingReference: fc.constantFrom(...BOOKINGS),
    amountMinor: fc.constant(100n),
    currency: fc.constant("EUR"),
    occurredAt: pastInstant.map((s) => ({ seconds: BigInt(s), nanos: 0 })),
  }),
  Execute: fc.record({
    commandType: fc.constant("booking.RecordPayment"),
    aggregateId: fc.constantFrom(...BOOKINGS),
    payload: fc.record({ paymentId: uniqueId, amount: fc.constant("2.00"), currency: fc.constant("EUR"), paidAt: fc.constant("2026-01-15T10:00:00Z") }),
    requestId: validRequestId,
  }),
};
for (const [name, valid] of Object.entries(VALID)) STRUCTURED[name] = fc.oneof({ weight: 3, arbitrary: STRUCTURED[name] }, { weight: 1, arbitrary: valid });

function encode(target: Rpc, init: Record<string, unknown>): Uint8Array {
  const defined = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined));
  return toBinary(target.input, create(target.input, defined as never));
}

// ---------------------------------------------------------------------------------------------
// Hand-made wire bytes.

function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const tag = (field: number, wireType: number) => varint(BigInt((field << 3) | wireType) & 0xffffffffn);
const concat = (...parts: Array<Uint8Array | number[]>) => Buffer.concat(parts.map((p) => Buffer.from(p as Uint8Array)));

/** Field numbers and wire types of a message's fields, so mutations can aim at real ones. */
function wireFields(message: DescMessage): Array<{ no: number; wireType: number; string: boolean }> {
  return message.fields.map((f) => {
    const scalar = (f as { scalar?: number }).scalar; // scalars and lists of scalars
    const lengthDelimited = f.fieldKind !== "scalar" && f.fieldKind !== "enum" ? true : scalar === 9 || scalar === 12; // string, bytes
    const fixed64 = scalar === 1 || scalar === 6 || scalar === 16; // double, fixed64, sfixed64
    const fixed32 = scalar === 2 || scalar === 7 || scalar === 15; // float, fixed32, sfixed32
    return { no: f.number, wireType: lengthDelimited ? 2 : fixed64 ? 1 : fixed32 ? 5 : 0, string: scalar === 9 };
  });
}

type Mutation = (valid: Uint8Array, target: Rpc, pick: number[]) => Uint8Array;
const MUTATIONS: Record<string, Mutation> = {
  truncated: (valid, _t, [p]) => valid.subarray(0, valid.byteLength === 0 ? 0 : p % valid.byteLength),
  "unknown field": (valid, _t, [p, q]) => {
    const field = 100 + (p % 536_870_000);
    const payloads: Record<number, number[]> = { 0: varint(BigInt(q)), 1: [1, 2, 3, 4, 5, 6, 7, 8], 2: [3, 0x61, 0x62, 0x63], 5: [1, 2, 3, 4] };
    const wireType = [0, 1, 2, 5][q % 4];
    return concat(valid, tag(field, wireType), payloads[wireType]);
  },
  "wrong wire type": (valid, target, [p, q]) => {
    const fields = wireFields(target.input);
    if (fields.length === 0) return concat(valid, tag(1, 0), [1]);
    const field = fields[p % fields.length];
    const others = [0, 1, 2, 5, 3, 4].filter((w) => w !== field.wireType);
    const wireType = others[q % others.length];
    const payloads: Record<number, number[]> = { 0: varint(BigInt(q)), 1: [0, 0, 0, 0, 0, 0, 0xf0, 0x7f], 2: [2, 0x08, 0x01], 5: [0, 0, 0xc0, 0x7f], 3: [], 4: [] };
    return concat(valid, tag(field.no, wireType), payloads[wireType]);
  },
  "invalid UTF-8": (valid, target, [p, q]) => {
    const strings = wireFields(target.input).filter((f) => f.string);
    const bad = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x61, 0xe2, 0x28, 0xa1], [0xf4, 0x90, 0x80, 0x80]][q % 6];
    const field = strings.length > 0 ? strings[p % strings.length].no : 1;
    return concat(valid, tag(field, 2), varint(BigInt(bad.length)), bad);
  },
  "overlong varint": (valid, target, [p]) => {
    const fields = wireFields(target.input);
    return concat(valid, tag(fields.length > 0 ? fields[p % fields.length].no : 1, 0), Array(11).fill(0xff), [1]);
  },
  "length past the end": (valid, target, [p, q]) => {
    const fields = wireFields(target.input);
    return concat(valid, tag(fields.length > 0 ? fields[p % fields.length].no : 1, 2), varint(BigInt(2 ** (q % 32))), [1, 2, 3]);
  },
  "invalid wire type 6/7": (valid, _t, [p, q]) => concat(valid, tag(1 + (p % 20), 6 + (q % 2)), [0]),
  "bytes flipped": (valid, _t, [p, q, r]) => {
    const copy = Buffer.from(valid);
    if (copy.byteLength > 0) {
      copy[p % copy.byteLength] ^= 1 + (q % 255);
      copy[r % copy.byteLength] ^= 0x80;
    }
    return copy;
  },
  "unterminated group": (valid, _t, [p]) => concat(tag(1 + (p % 30), 3), valid),
  "duplicate field": (valid) => concat(valid, valid),
};

/** NaN, ±Infinity and -0 as Struct numbers (JSON cannot carry them; the binary wire can). */
function nonFiniteNumbers(target: Rpc, p: number): Uint8Array {
  const value = [NaN, Infinity, -Infinity, -0, 1e308 * 10][p % 5];
  return encode(target, { commandType: "booking.RecordPayment", aggregateId: BOOKINGS[p % BOOKINGS.length], payload: { amount: value, paymentId: value, paidAt: value } });
}

// ---------------------------------------------------------------------------------------------
// Cases: what is sent, and what the answer must be.

/** grpc-js and raw HTTP/2 on the gRPC port; Connect JSON/binary, gRPC-Web and gRPC over h2c on the HTTP port. */
type Transport = "grpc-js" | "h2-grpc-port" | "h2-grpc" | "connect-json" | "connect-proto" | "grpc-web";

interface Case {
  readonly rpc: Rpc;
  readonly kind: string;
  /** The request message bytes (binary transports) or JSON body (connect-json). */
  readonly body: Uint8Array;
  readonly json: boolean;
  /** gRPC framing of the body, for the framing cases; undefined is one well-formed frame. */
  readonly framing?: "truncated" | "empty" | "two messages" | "declared too large" | "gzip" | "corrupt gzip" | "compressed flag, no encoding" | "trailing partial frame";
}

const binaryCase: fc.Arbitrary<Case> = fc
  .tuple(
    fc.constantFrom(...RPCS),
    fc.oneof(
      { weight: 40, arbitrary: fc.constant("structured") },
      { weight: 25, arbitrary: fc.constantFrom(...Object.keys(MUTATIONS)) },
      { weight: 10, arbitrary: fc.constant("random bytes") },
      { weight: 6, arbitrary: fc.constant("framing") },
      { weight: 1, arbitrary: fc.constant("1 MB string") },
      { weight: 1, arbitrary: fc.constant("non-finite numbers") },
    ),
    fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.constantFrom("truncated", "empty", "two messages", "declared too large", "gzip", "corrupt gzip", "compressed flag, no encoding", "trailing partial frame"),
  )
  .chain(([target, kind, pick, random, framing]) =>
    STRUCTURED[target.method.name].map((init): Case => {
      if (kind === "random bytes") return { rpc: target, kind, body: random, json: false };
      if (kind === "non-finite numbers") return { rpc: rpc("Execute"), kind, body: nonFiniteNumbers(rpc("Execute"), pick[0]), json: false };
      if (kind === "1 MB string") {
        const strings = target.input.fields.filter((f) => f.fieldKind === "scalar" && f.scalar === 9);
        const field = strings.length > 0 ? strings[pick[0] % strings.length].localName : undefined;
        return { rpc: target, kind, body: encode(target, field ? { ...init, [field]: ONE_MB } : init), json: false };
      }
      const valid = encode(target, init);
      if (kind === "structured") return { rpc: target, kind, body: valid, json: false };
      if (kind === "framing") return { rpc: target, kind: `framing: ${framing}`, body: valid, json: false, framing };
      return { rpc: target, kind, body: MUTATIONS[kind](valid, target, pick), json: false };
    }),
  );

/** JSON bodies for the Connect JSON transport: valid, with a field of the wrong kind, or broken text. */
const JSON_LITERALS = ["9223372036854775808", "-1", "1e309", "\"abc\"", "12", "true", "null", "[]", "{}", "\"-9223372036854775809\"", "\"18446744073709551616\"", "\"2026-13-45T99:00:00Z\"", "\"\\ud800\""];
const jsonCase: fc.Arbitrary<Case> = fc
  .tuple(
    fc.constantFrom(...RPCS),
    fc.constantFrom("json", "json wrong kind", "json unknown field", "json truncated", "json invalid UTF-8", "json deep", "json garbage"),
    fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
    fc.string({ maxLength: 200 }),
  )
  .chain(([target, kind, [p, q, r], garbage]) =>
    STRUCTURED[target.method.name].map((init): Case => {
      const defined = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined));
      let text: string;
      try {
        text = toJsonString(target.input, create(target.input, defined as never));
      } catch {
        // Out of JSON's range (a timestamp past year 9999): sent as it is, which is not valid JSON for the field.
        text = JSON.stringify(defined, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      }
      const fields = target.input.fields.map((f) => f.jsonName);
      if (kind === "json wrong kind" && fields.length > 0) {
        text = `{"${fields[p % fields.length]}":${JSON_LITERALS[q % JSON_LITERALS.length]}${text === "{}" ? "" : `,${text.slice(1, -1)}`}}`.replace(/,}$/, "}");
      }
      if (kind === "json unknown field") text = `{"fuzzUnknown${p}":${JSON_LITERALS[q % JSON_LITERALS.length]}${text === "{}" ? "}" : `,${text.slice(1)}`}`;
      if (kind === "json truncated") text = text.slice(0, p % Math.max(1, text.length));
      if (kind === "json garbage") text = garbage;
      if (kind === "json deep") {
        const depth = [40, 98, 99, 200, 5000, 100_000][p % 6];
        text = `{"commandType":"booking.CancelBooking","aggregateId":"fz-1","payload":${'{"a":'.repeat(depth)}"x"${"}".repeat(depth)}}`;
        return { rpc: rpc("Execute"), kind, body: Buffer.from(text), json: true };
      }
      let body: Uint8Array = Buffer.from(text);
      if (kind === "json invalid UTF-8") {
        const at = Math.max(1, text.indexOf("\"") + 1 || 1);
        body = concat(Buffer.from(text.slice(0, at)), [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80]][r % 3], Buffer.from(text.slice(at)));
      }
      return { rpc: target, kind, body, json: true };
    }),
  );

/** The payload of an Execute request, if it decodes. */
function decoded(c: Case): Record<string, unknown> | undefined | "undecodable" {
  try {
    // A JSON field the message does not have is refused (INVALID_ARGUMENT naming it), so it counts as undecodable here.
    if (c.json) return fromJsonString(c.rpc.input, new TextDecoder("utf-8", { fatal: true }).decode(c.body), { ignoreUnknownFields: false }) as never;
    return fromBinary(c.rpc.input, c.body) as never;
  } catch {
    return "undecodable";
  }
}

/** Depth and number of values of a JSON-like payload, measured here independently of the server. */
function tooBig(payload: unknown): boolean {
  let values = 0;
  let deepest = 0;
  const walk = (value: unknown, depth: number) => {
    if (typeof value !== "object" || value === null) return;
    deepest = Math.max(deepest, depth);
    const members = Array.isArray(value) ? value : Object.values(value);
    values += members.length;
    if (deepest <= LIMITS.depth + 1 && values <= LIMITS.fields) for (const m of members) walk(m, depth + 1);
  };
  walk(payload, 1);
  return deepest > LIMITS.depth || values > LIMITS.fields;
}

interface Expectation {
  readonly codes: ReadonlySet<number>;
  /** A decodable Execute whose payload is over a limit: the BadRequest must name `payload`. */
  readonly payloadViolation: boolean;
  /** The bytes do not decode: Switchyard's answer (when it carries ErrorInfo) is MALFORMED_REQUEST. */
  readonly malformed: boolean;
}

function expectationOf(c: Case, transport: Transport): Expectation {
  const none = { payloadViolation: false, malformed: false };
  const invalid = new Set([S.INVALID_ARGUMENT]);
  if (c.body.byteLength > MAX_MESSAGE_BYTES || c.framing === "declared too large") return { ...none, codes: new Set([S.RESOURCE_EXHAUSTED]) };
  if (c.framing === "truncated" || c.framing === "empty" || c.framing === "two messages") return { ...none, codes: invalid, malformed: true };
  if (c.framing === "corrupt gzip") return { ...none, codes: invalid, malformed: true };
  // grpc-js reads a compressed flag without an encoding as uncompressed and ignores a trailing
  // partial frame (then the message decides); the HTTP port refuses both as malformed.
  if ((c.framing === "compressed flag, no encoding" || c.framing === "trailing partial frame") && transport !== "h2-grpc-port") {
    return { ...none, codes: invalid, malformed: true };
  }
  const message = decoded(c);
  if (message === "undecodable") return { ...none, codes: invalid, malformed: !c.json };
  const payloadViolation = c.rpc.method.name === "Execute" && tooBig((message as { payload?: unknown }).payload);
  return { ...none, codes: payloadViolation ? invalid : c.rpc.allowed, payloadViolation };
}

/** The body as sent, framed for a gRPC transport. */
function framed(c: Case): Uint8Array {
  switch (c.framing) {
    case "truncated":
      return frame(c.body, 0, c.body.byteLength + 1 + (c.body.byteLength % 7)).subarray(0, 5 + c.body.byteLength);
    case "empty":
      return new Uint8Array(0);
    case "two messages":
      return concat(frame(c.body), frame(c.body));
    case "declared too large":
      return frame(c.body, 0, MAX_MESSAGE_BYTES + 1 + (c.body.byteLength % 1000));
    case "gzip":
      return frame(gzipSync(c.body), 1);
    case "corrupt gzip":
      return frame(concat([0x1f, 0x8b, 0x08, 0x00], c.body, [0xde, 0xad]), 1);
    case "compressed flag, no encoding":
      return frame(c.body, 1);
    case "trailing partial frame":
      return concat(frame(c.body), [0, 0, 0]);
    default:
      return frame(c.body);
  }
}
const encodingOf = (c: Case): Record<string, string> => (c.framing === "gzip" || c.framing === "corrupt gzip" ? { "grpc-encoding": "gzip" } : {});

// ---------------------------------------------------------------------------------------------
// Running cases and judging answers.

interface Tally {
  calls: number;
  codes: Map<string, number>;
  problems: string[];
  bytesSent: number;
  /** commandId → code, for every answer that carried a CommandResult. */
  commandIds: Map<string, number>;
  /** Event ids of accepted commands (must all be stored). */
  acceptedEvents: Set<string>;
  /** Calls per RPC, so every one is seen to be covered. */
  perRpc: Map<string, number>;
}
const newTally = (): Tally => ({ calls: 0, codes: new Map(), problems: [], bytesSent: 0, commandIds: new Map(), acceptedEvents: new Set(), perRpc: new Map() });

interface Port {
  readonly name: "gRPC port" | "HTTP port";
  readonly send: (c: Case) => { transport: Transport; answer: Promise<Outcome> };
}

/** A query's refusals: each carries a BadRequest naming the request field, as VALIDATION_FAILED does. */
const QUERY_REASONS = new Set(["INVALID_FILTER", "INVALID_ORDER", "INVALID_PAGE_TOKEN"]);
const REASONS = new Set(["VALIDATION_FAILED", "UNKNOWN_COMMAND", "REQUEST_ID_REUSED", "MALFORMED_REQUEST", "INVALID_SERVICE_NAME", ...QUERY_REASONS]);

function judge(c: Case, transport: Transport, outcome: Outcome, tally: Tally): void {
  tally.calls++;
  tally.perRpc.set(c.rpc.method.name, (tally.perRpc.get(c.rpc.method.name) ?? 0) + 1);
  const name = outcome.code === -1 ? "NO_ANSWER" : (S[outcome.code] ?? String(outcome.code));
  tally.codes.set(name, (tally.codes.get(name) ?? 0) + 1);
  const expected = expectationOf(c, transport);
  const problem = (text: string) => tally.problems.push(`${transport} ${c.rpc.method.name} [${c.kind}] ${text}`);

  if (outcome.code === 0) recordOk(c, outcome, tally);
  else if (outcome.commandResult?.commandId) tally.commandIds.set(outcome.commandResult.commandId, outcome.code);

  if (!expected.codes.has(outcome.code)) {
    return void problem(`answered ${name} "${outcome.message.slice(0, 160)}", allowed ${[...expected.codes].map((code) => S[code]).join("/")}`);
  }
  if (outcome.code !== S.INVALID_ARGUMENT) return;
  if (!outcome.message.trim()) problem("INVALID_ARGUMENT without a message");
  // Switchyard's own answers carry ErrorInfo; on the gRPC port every INVALID_ARGUMENT is Switchyard's.
  if (!outcome.errorInfo) {
    if (transport === "grpc-js" || transport === "h2-grpc-port" || expected.payloadViolation) problem(`INVALID_ARGUMENT without ErrorInfo: "${outcome.message.slice(0, 120)}"`);
    return;
  }
  const reason = outcome.errorInfo.reason;
  if (outcome.errorInfo.domain !== "switchyard.dev" || !REASONS.has(reason)) problem(`ErrorInfo ${outcome.errorInfo.domain}/${reason}`);
  if (expected.malformed && reason !== "MALFORMED_REQUEST") problem(`undecodable bytes answered ${reason}: "${outcome.message.slice(0, 120)}"`);
  if (reason === "MALFORMED_REQUEST" && !outcome.message.includes(c.rpc.input.typeName) && !outcome.message.includes("request message")) {
    problem(`MALFORMED_REQUEST does not name the message type: "${outcome.message.slice(0, 120)}"`);
  }
  if (reason === "VALIDATION_FAILED" || QUERY_REASONS.has(reason)) {
    const violations = outcome.badRequest?.fieldViolations ?? [];
    if (violations.length === 0 || violations.some((v) => !v.field || !v.description)) problem(`VALIDATION_FAILED without named field violations: "${outcome.message.slice(0, 120)}"`);
    if (expected.payloadViolation && !violations.some((v) => v.field === "payload")) {
      problem(`payload over the limits, but no violation on payload: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ").slice(0, 160)}`);
    }
  } else if (expected.payloadViolation) problem(`payload over the limits answered ${reason}`);
}

function recordOk(c: Case, outcome: Outcome, tally: Tally): void {
  if (!c.rpc.command || !outcome.body) return;
  let result: { commandId: string; events: Array<{ id: string }> };
  try {
    result = c.json ? JSON.parse(new TextDecoder().decode(outcome.body)) : fromBinary(CommandResultSchema, outcome.body);
  } catch {
    tally.problems.push(`${c.rpc.method.name}: OK answer is not a CommandResult`);
    return;
  }
  tally.commandIds.set(result.commandId, 0);
  // A dry run's events are the ones it would write: never stored.
  if (c.rpc.method.name === "DryRun") return;
  for (const e of result.events ?? []) tally.acceptedEvents.add(e.id);
}

async function runCases(port: Port, cases: readonly Case[], tally: Tally): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      const { transport, answer } = port.send(c);
      tally.bytesSent += c.body.byteLength;
      judge(c, transport, await answer, tally);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** Large bodies, sent a few times per transport: 4 MiB + 1 of valid protobuf or JSON. */
function oversizedCases(): Case[] {
  const big = "o".repeat(MAX_MESSAGE_BYTES);
  const target = rpc("CancelBooking");
  const binary = encode(target, { bookingId: "fz-1", reason: big });
  const json = Buffer.from(JSON.stringify({ bookingId: "fz-1", reason: big }));
  return [
    { rpc: target, kind: "oversized", body: binary, json: false },
    { rpc: target, kind: "oversized", body: binary, json: false },
    { rpc: target, kind: "oversized JSON", body: json, json: true },
  ];
}

// ---------------------------------------------------------------------------------------------
// Streaming calls: Subscribe and Health/Watch (server-streaming), ServerReflectionInfo (bidi).

const REFLECTION = "ServerReflectionInfo";
const streamRpc = (path: string) => STREAM_RPCS.find((r) => r.path === path)!;
const SUBSCRIBE = streamRpc("/switchyard.eventstore.v1.EventStoreService/Subscribe");
const WATCH = streamRpc("/grpc.health.v1.Health/Watch");

const subscribeStart = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.oneof(fc.constantFrom(0n, 1n, 2n, 5n), uint64).map((value) => ({ case: "afterPosition", value })) },
  { weight: 2, arbitrary: fc.boolean().map((value) => ({ case: "fromStart", value })) },
  { weight: 2, arbitrary: fc.boolean().map((value) => ({ case: "fromNow", value })) },
);
const eventTypes = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.oneof(fc.constantFrom("RoomBooked", "PaymentRecorded", "BookingCancelled"), adversarialString), { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.integer({ min: 99, max: 150 }).map((n) => Array.from({ length: n }, (_, i) => `T${i}`)) },
);
const STREAM_STRUCTURED: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  Subscribe: fc.record(
    {
      start: subscribeStart,
      eventTypes,
      streamIdPrefix: fc.oneof(
        fc.constantFrom("", "booking-", "booking-fz-1", "nomatch-"),
        adversarialString,
        fc.constantFrom(199, 200, 201, 4096).map((n) => "b".repeat(n)),
      ),
    },
    { requiredKeys: [] },
  ),
  Watch: fc.record({ service: healthServiceName }, { requiredKeys: [] }),
};
/** One reflection request: every kind of lookup, for names that exist and names that do not. */
const reflectionRequest = fc.record({
  host: fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: adversarialString }),
  messageRequest: fc.oneof(
    fc.constant({ case: undefined }),
    fc.oneof(fc.constant("*"), adversarialString).map((value) => ({ case: "listServices", value })),
    fc.oneof(fc.constantFrom("booking/v1/booking.proto", "grpc/health/v1/health.proto", "google/protobuf/struct.proto", "nope.proto", ""), adversarialString).map((value) => ({ case: "fileByFilename", value })),
    fc
      .oneof(
        fc.constantFrom("booking.v1.BookingService", "booking.v1.BookingService.BookRoom", "switchyard.eventstore.v1.SubscribeRequest.start", "grpc.health.v1.HealthCheckResponse.SERVING", "nope.Nope", "."),
        adversarialString,
      )
      .map((value) => ({ case: "fileContainingSymbol", value })),
    fc
      .record({ containingType: fc.oneof(fc.constantFrom("booking.v1.BookRoomRequest", "google.protobuf.Struct"), adversarialString), extensionNumber: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) })
      .map((value) => ({ case: "fileContainingExtension", value })),
    fc.oneof(fc.constantFrom("booking.v1.BookRoomRequest", "google.protobuf.Struct", "booking.v1.BookingService"), adversarialString).map((value) => ({ case: "allExtensionNumbersOfType", value })),
  ),
});

/** A streaming call's case: the unary Case (body = the one request, or the last of a bidi call's) and more. */
interface StreamCase extends Case {
  /** A bidi call's requests before the last (already whole frames' bodies). */
  readonly before: readonly Uint8Array[];
  /** Sent with a deadline this short: the client's own (grpc-js) or the server's (grpc-timeout/connect-timeout-ms header). */
  readonly deadlineMs?: number;
}

const STREAM_FRAMINGS = ["truncated", "empty", "two messages", "declared too large", "gzip", "corrupt gzip", "compressed flag, no encoding", "trailing partial frame"] as const;
const streamMutation = fc.constantFrom(...Object.keys(MUTATIONS));

const serverStreamCase: fc.Arbitrary<StreamCase> = fc
  .tuple(
    fc.constantFrom(SUBSCRIBE, WATCH),
    fc.oneof(
      { weight: 40, arbitrary: fc.constant("structured") },
      { weight: 20, arbitrary: streamMutation },
      { weight: 8, arbitrary: fc.constant("random bytes") },
      { weight: 10, arbitrary: fc.constant("framing") },
      { weight: 6, arbitrary: fc.constant("short deadline") },
      { weight: 1, arbitrary: fc.constant("1 MB string") },
    ),
    fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
    fc.uint8Array({ maxLength: 200 }),
    fc.constantFrom(...STREAM_FRAMINGS),
  )
  .chain(([target, kind, pick, random, framing]) =>
    STREAM_STRUCTURED[target.method.name].map((init): StreamCase => {
      const base = { rpc: target, kind, json: false, before: [] };
      if (kind === "random bytes") return { ...base, body: random };
      if (kind === "1 MB string") {
        const field = target === SUBSCRIBE ? (pick[0] % 2 === 0 ? "streamIdPrefix" : "eventTypes") : "service";
        return { ...base, body: encode(target, { ...init, [field]: field === "eventTypes" ? [ONE_MB] : ONE_MB }) };
      }
      const valid = encode(target, init);
      if (kind === "structured") return { ...base, body: valid };
      if (kind === "short deadline") return { ...base, body: valid, deadlineMs: 150 + (pick[0] % 350) };
      if (kind === "framing") return { ...base, kind: `framing: ${framing}`, body: valid, framing };
      return { ...base, body: MUTATIONS[kind](valid, target, pick) };
    }),
  );

const reflectionCase: fc.Arbitrary<StreamCase> = fc
  .tuple(
    fc.constantFrom(...STREAM_RPCS.filter((r) => r.method.name === REFLECTION)),
    fc.array(reflectionRequest, { minLength: 1, maxLength: 3 }),
    fc.oneof(
      { weight: 10, arbitrary: fc.constant("structured") },
      { weight: 6, arbitrary: streamMutation },
      { weight: 3, arbitrary: fc.constant("random bytes") },
      { weight: 3, arbitrary: fc.constant("framing") },
    ),
    fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
    fc.uint8Array({ maxLength: 200 }),
    fc.constantFrom("truncated", "empty", "declared too large", "gzip", "corrupt gzip", "compressed flag, no encoding", "trailing partial frame" as const),
  )
  .map(([target, requests, kind, pick, random, framing]): StreamCase => {
    const encoded = requests.map((r) => encode(target, r));
    const last = encoded.pop()!;
    const base = { rpc: target, kind, json: false, before: encoded };
    if (kind === "random bytes") return { ...base, body: random };
    if (kind === "structured") return { ...base, body: last };
    if (kind === "framing") return { ...base, kind: `framing: ${framing}`, body: last, framing };
    return { ...base, body: MUTATIONS[kind](last, target, pick) };
  });

/** Connect JSON bodies for the server-streaming methods (HTTP port, application/connect+json). */
const streamJsonCase: fc.Arbitrary<StreamCase> = fc
  .tuple(
    fc.constantFrom(SUBSCRIBE, WATCH),
    fc.constantFrom("json", "json wrong kind", "json unknown field", "json truncated", "json invalid UTF-8", "json garbage"),
    fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
    fc.string({ maxLength: 200 }),
  )
  .chain(([target, kind, [p, q, r], garbage]) =>
    STREAM_STRUCTURED[target.method.name].map((init): StreamCase => {
      const defined = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined));
      let text = toJsonString(target.input, create(target.input, defined as never));
      const fields = target.input.fields.map((f) => f.jsonName);
      if (kind === "json wrong kind") text = `{"${fields[p % fields.length]}":${JSON_LITERALS[q % JSON_LITERALS.length]}${text === "{}" ? "}" : `,${text.slice(1)}`}`;
      if (kind === "json unknown field") text = `{"fuzzUnknown${p}":${JSON_LITERALS[q % JSON_LITERALS.length]}${text === "{}" ? "}" : `,${text.slice(1)}`}`;
      if (kind === "json truncated") text = text.slice(0, p % Math.max(1, text.length));
      if (kind === "json garbage") text = garbage;
      let body: Uint8Array = Buffer.from(text);
      if (kind === "json invalid UTF-8") {
        const at = Math.max(1, text.indexOf("\"") + 1 || 1);
        body = concat(Buffer.from(text.slice(0, at)), [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80]][r % 3], Buffer.from(text.slice(at)));
      }
      return { rpc: target, kind, body, json: true, before: [] };
    }),
  );

/** What a streaming call may end with: a status code, or OPEN (still streaming when the client cut it). */
type StreamAnswer = number | "OPEN";
interface StreamExpectation {
  readonly answers: ReadonlySet<StreamAnswer>;
  readonly malformed: boolean;
  /** The decoded last request (undefined when it does not decode). */
  readonly request?: Record<string, unknown>;
}

function streamExpectation(c: StreamCase, transport: Transport): StreamExpectation {
  const invalid = { answers: new Set<StreamAnswer>([S.INVALID_ARGUMENT]), malformed: true };
  const bidi = c.rpc.method.name === REFLECTION;
  if (c.body.byteLength > MAX_MESSAGE_BYTES || c.framing === "declared too large") return { answers: new Set([S.RESOURCE_EXHAUSTED]), malformed: false };
  if (c.framing === "corrupt gzip") return invalid;
  if (bidi && c.framing === "empty") return { answers: new Set([S.OK]), malformed: false };
  if (!bidi && (c.framing === "truncated" || c.framing === "empty" || c.framing === "two messages")) return invalid;
  // grpc-js reads a compressed flag without an encoding as uncompressed, and a stream's trailing
  // partial frame as no frame at all; the HTTP port refuses both. A server-streaming call with only
  // a partial frame has no request: INVALID_ARGUMENT on either port.
  const partial = c.framing === "truncated" || c.framing === "trailing partial frame";
  if ((c.framing === "compressed flag, no encoding" || partial) && transport !== "h2-grpc-port") return invalid;
  const message = decoded(c);
  if (bidi) {
    // (gRPC port) a truncated last frame is dropped unread, whatever its bytes.
    if (message === "undecodable" && c.framing !== "truncated") return invalid;
    return { answers: new Set([S.OK]), malformed: false };
  }
  if (message === "undecodable") return { ...invalid, malformed: !c.json };
  const open = new Set<StreamAnswer>(c.deadlineMs !== undefined ? [S.DEADLINE_EXCEEDED, S.CANCELLED] : ["OPEN"]);
  if (c.rpc === WATCH) {
    const service = (message as { service: string }).service;
    return service.length > 200 ? { answers: new Set([S.INVALID_ARGUMENT]), malformed: false, request: message } : { answers: open, malformed: false, request: message };
  }
  const request = message as { start: { case?: string }; eventTypes: string[]; streamIdPrefix: string };
  if (request.eventTypes.length > 100 || request.eventTypes.some((t) => t.length > 200) || request.streamIdPrefix.length > 200) {
    return { answers: new Set([S.INVALID_ARGUMENT]), malformed: false, request: message };
  }
  const answers = new Set<StreamAnswer>([...open, S.RESOURCE_EXHAUSTED]);
  if (request.start.case === "afterPosition") answers.add(S.OUT_OF_RANGE);
  return { answers, malformed: false, request: message };
}

/** The request frames of a streaming case, as sent on a gRPC transport. */
function streamFramed(c: StreamCase): Uint8Array {
  return concat(...c.before.map((b) => frame(b)), framed(c));
}

interface StreamTally extends Tally {
  /** Streams the client cancelled while they were open (each must end on the server too). */
  cut: number;
}
const newStreamTally = (): StreamTally => ({ ...newTally(), cut: 0 });

/** How long an accepted stream may take to send its first message before the call counts as hung. */
const FIRST_MESSAGE_MS = 15_000;

function judgeStream(c: StreamCase, transport: Transport, outcome: StreamOutcome, tally: StreamTally): void {
  tally.calls++;
  tally.perRpc.set(c.rpc.path, (tally.perRpc.get(c.rpc.path) ?? 0) + 1);
  const answer: StreamAnswer | -1 = outcome.cut ? "OPEN" : outcome.code;
  const name = answer === "OPEN" ? "OPEN" : answer === -1 ? "NO_ANSWER" : (S[answer] ?? String(answer));
  tally.codes.set(name, (tally.codes.get(name) ?? 0) + 1);
  const problem = (text: string) => tally.problems.push(`${transport} ${c.rpc.path.slice(1)} [${c.kind}] ${text}`);
  const expected = streamExpectation(c, transport);
  if (outcome.cut) tally.cut++;

  if (answer === -1 || !expected.answers.has(answer)) {
    return void problem(`answered ${name} "${outcome.message.slice(0, 160)}", allowed ${[...expected.answers].map((a) => (a === "OPEN" ? "OPEN" : S[a])).join("/")}`);
  }
  if (answer === "OPEN") {
    if (outcome.messages.length === 0) return void problem(`no message and no status within ${FIRST_MESSAGE_MS} ms`);
    try {
      const first = (c.json ? fromJsonString(c.rpc.method.output, new TextDecoder().decode(outcome.messages[0])) : fromBinary(c.rpc.method.output, outcome.messages[0])) as Record<string, unknown>;
      if (c.rpc === WATCH) {
        const service = (expected.request as { service: string }).service;
        const want = SERVED_NAMES.includes(service) ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
        if (first.status !== want) problem(`Watch of "${service.slice(0, 40)}" said ${HealthCheckResponse_ServingStatus[first.status as number]}, not ${HealthCheckResponse_ServingStatus[want]}`);
      } else if ((first.message as { case?: string }).case === undefined) problem("a SubscribeResponse with no message set");
    } catch (error) {
      problem(`first message does not decode as ${c.rpc.method.output.typeName}: ${(error as Error).message}`);
    }
    return;
  }
  if (c.rpc.method.name === REFLECTION) judgeReflection(c, outcome, problem);
  if (answer !== S.INVALID_ARGUMENT) return;
  if (!outcome.message.trim()) problem("INVALID_ARGUMENT without a message");
  // On the gRPC port every INVALID_ARGUMENT is Switchyard's, with ErrorInfo; on the HTTP port
  // connect-node answers some itself (JSON it cannot read, a broken envelope, all of reflection's).
  if (!outcome.errorInfo) {
    if (transport === "grpc-js" || transport === "h2-grpc-port") problem(`INVALID_ARGUMENT without ErrorInfo: "${outcome.message.slice(0, 120)}"`);
    return;
  }
  const reason = outcome.errorInfo.reason;
  if (outcome.errorInfo.domain !== "switchyard.dev" || !REASONS.has(reason)) problem(`ErrorInfo ${outcome.errorInfo.domain}/${reason}`);
  if (expected.malformed && reason !== "MALFORMED_REQUEST") problem(`undecodable bytes answered ${reason}: "${outcome.message.slice(0, 120)}"`);
  if (reason === "VALIDATION_FAILED" && (outcome.badRequest?.fieldViolations ?? []).every((v) => !v.field)) problem(`VALIDATION_FAILED without a named field: "${outcome.message.slice(0, 120)}"`);
}

/** A reflection call's responses: one per request answered, each a response with its answer set. */
function judgeReflection(c: StreamCase, outcome: StreamOutcome, problem: (text: string) => void): void {
  // OK: every whole request answered; an error: at most the requests before the last one.
  const lastWhole = c.framing !== "truncated" && c.framing !== "empty";
  const answerable = outcome.code === S.OK ? c.before.length + (lastWhole ? 1 : 0) : c.before.length + (c.framing === "trailing partial frame" ? 1 : 0);
  if (outcome.code === S.OK ? outcome.messages.length !== answerable : outcome.messages.length > answerable) {
    problem(`${outcome.messages.length} response(s) to ${answerable} answerable request(s)`);
  }
  for (const bytes of outcome.messages) {
    let response: Record<string, unknown>;
    try {
      response = fromBinary(c.rpc.method.output, bytes) as Record<string, unknown>;
    } catch (error) {
      return void problem(`a response does not decode: ${(error as Error).message}`);
    }
    const body = response.messageResponse as { case?: string; value?: { errorCode?: number; errorMessage?: string } };
    if (body.case === undefined) problem("a response with no answer set");
    if (body.case === "errorResponse" && (![S.NOT_FOUND, S.INVALID_ARGUMENT].includes(body.value!.errorCode!) || !body.value!.errorMessage)) {
      problem(`error_response ${body.value!.errorCode} "${body.value!.errorMessage}"`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  assert.ok(match, "VmRSS in /proc/<pid>/status");
  return Number(match[1]);
}

interface StoredRows {
  events: Array<{ id: string; streamId: string; commandId: string }>;
  requests: Array<{ requestId: string; status: string; commandId: string }>;
  snapshots: Map<string, number>;
}
function readStore(path: string): StoredRows {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const events = (db.prepare("SELECT id, stream_id, metadata FROM events").all() as Array<{ id: string; stream_id: string; metadata: string }>).map((r) => ({
      id: r.id,
      streamId: r.stream_id,
      commandId: (JSON.parse(r.metadata) as { commandId: string }).commandId,
    }));
    const requests = (db.prepare("SELECT request_id, result FROM requests").all() as Array<{ request_id: string; result: string }>).map((r) => {
      const result = JSON.parse(r.result) as { status: string; commandId: string };
      return { requestId: r.request_id, status: result.status, commandId: result.commandId };
    });
    const snapshots = new Map((db.prepare("SELECT stream_id, revision FROM snapshots").all() as Array<{ stream_id: string; revision: number }>).map((r) => [r.stream_id, r.revision]));
    return { events, requests, snapshots };
  } finally {
    db.close();
  }
}

describe("bad input on both ports", () => {
  let server: ServerProcess;
  let grpcClient: grpc.Client;
  let h2GrpcPort: http2.ClientHttp2Session;
  let h2HttpPort: http2.ClientHttp2Session;
  let storedBefore: StoredRows;
  let serverStderr = "";
  let rssBaseline = 0;
  let rssWarmUpPeak = 0;
  const rssAfter: Record<string, number> = {};
  const tallies = { "gRPC port": newTally(), "HTTP port": newTally() };
  const streamTallies = { "gRPC port": newStreamTally(), "HTTP port": newStreamTally() };
  const seconds: Record<string, number> = {};
  let transportIndex = 0;
  let streamIndex = 0;

  const grpcPort: Port = {
    name: "gRPC port",
    send: (c) =>
      c.framing
        ? { transport: "h2-grpc-port", answer: h2Grpc(h2GrpcPort, c.rpc.path, framed(c), encodingOf(c)) }
        : { transport: "grpc-js", answer: grpcJsRaw(grpcClient, c.rpc.path, c.body) },
  };
  const httpPort: Port = {
    name: "HTTP port",
    send: (c) => {
      if (c.json) return { transport: "connect-json", answer: connectUnary(server.httpUrl, c.rpc.path, c.body, "application/json") };
      const pick = c.framing ? 1 + (transportIndex++ % 2) : transportIndex++ % 3;
      if (pick === 0) return { transport: "connect-proto", answer: connectUnary(server.httpUrl, c.rpc.path, c.body, "application/proto") };
      if (pick === 1) return { transport: "grpc-web", answer: grpcWeb(server.httpUrl, c.rpc.path, framed(c), encodingOf(c)) };
      return { transport: "h2-grpc", answer: h2Grpc(h2HttpPort, c.rpc.path, framed(c), encodingOf(c)) };
    },
  };

  /** How long a streaming call is read: its first message (server-streaming) or all of it (reflection, or a deadline). */
  const readFor = (c: StreamCase, headers: Record<string, string>) => {
    const bidi = c.rpc.method.name === REFLECTION;
    const want = bidi || c.deadlineMs !== undefined ? Infinity : 1;
    return { want, waitMs: c.deadlineMs !== undefined ? c.deadlineMs + FIRST_MESSAGE_MS : FIRST_MESSAGE_MS, headers: { ...encodingOf(c), ...headers } };
  };
  const grpcTimeout = (c: StreamCase): Record<string, string> => (c.deadlineMs !== undefined ? { "grpc-timeout": `${c.deadlineMs}m` } : {});
  const connectTimeout = (c: StreamCase): Record<string, string> => (c.deadlineMs !== undefined ? { "connect-timeout-ms": String(c.deadlineMs) } : {});
  const sendStream: Record<Port["name"], (c: StreamCase) => { transport: Transport; answer: Promise<StreamOutcome> }> = {
    // grpc-js for whole requests (with a deadline: the client's own); raw HTTP/2 for reflection,
    // framing, and half the rest (with a deadline: grpc-timeout, so the server ends the call).
    "gRPC port": (c) => {
      if (c.rpc.method.name !== REFLECTION && !c.framing && streamIndex++ % 2 === 0) {
        return { transport: "grpc-js", answer: grpcJsStream(grpcClient, c.rpc.path, c.body, { ...readFor(c, {}), deadlineMs: c.deadlineMs }) };
      }
      return { transport: "h2-grpc-port", answer: h2GrpcStream(h2GrpcPort, c.rpc.path, streamFramed(c), readFor(c, grpcTimeout(c))) };
    },
    // Connect streaming (JSON or binary) and gRPC-Web over HTTP/1.1, gRPC over h2c; reflection over h2c only.
    "HTTP port": (c) => {
      if (c.json) {
        return { transport: "connect-json", answer: fetchStream(server.httpUrl, c.rpc.path, frame(c.body), "application/connect+json", readFor(c, connectTimeout(c))) };
      }
      const pick = c.rpc.method.name === REFLECTION ? 2 : c.framing ? 1 + (streamIndex++ % 2) : streamIndex++ % 3;
      if (pick === 0) {
        return { transport: "connect-proto", answer: fetchStream(server.httpUrl, c.rpc.path, frame(c.body), "application/connect+proto", readFor(c, connectTimeout(c))) };
      }
      if (pick === 1) return { transport: "grpc-web", answer: fetchStream(server.httpUrl, c.rpc.path, streamFramed(c), "application/grpc-web+proto", readFor(c, grpcTimeout(c))) };
      return { transport: "h2-grpc", answer: h2GrpcStream(h2HttpPort, c.rpc.path, streamFramed(c), readFor(c, grpcTimeout(c))) };
    },
  };
  const streamCasesFor = (name: Port["name"], seed: number, count: number) =>
    fc.sample(
      fc.oneof(
        { weight: 6, arbitrary: serverStreamCase },
        { weight: 3, arbitrary: reflectionCase },
        ...(name === "HTTP port" ? [{ weight: 2, arbitrary: streamJsonCase }] : []),
      ),
      { seed, numRuns: count },
    );
  async function runStreamCases(name: Port["name"], cases: readonly StreamCase[], tally: StreamTally): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const { transport, answer } = sendStream[name](c);
        tally.bytesSent += c.body.byteLength;
        judgeStream(c, transport, await answer, tally);
      }
    };
    await Promise.all(Array.from({ length: STREAMS_IN_FLIGHT }, worker));
  }
  /** Streams that ended on the server (its log line) for a cancel or a deadline, since log line `from`. */
  const streamsEnded = (from: number) =>
    server.logs.slice(from).filter((l) => l.msg === "rpc" && (l.method === SUBSCRIBE.path || l.method === WATCH.path) && (l.code === "Canceled" || l.code === "DeadlineExceeded")).length;
  /** Exactly MAX_SUBSCRIPTIONS subscriptions open, and the next is RESOURCE_EXHAUSTED: none was left counted. */
  async function subscriptionLimitIntact(label: string): Promise<void> {
    const open = Array.from({ length: MAX_SUBSCRIPTIONS }, () => subscribeGrpc(server.grpcAddress, { start: { case: "fromNow", value: true } }));
    try {
      await Promise.all(open.map((s, i) => s.until(`${label}: subscription ${i + 1} of ${MAX_SUBSCRIPTIONS} answering`, (m) => m.length > 0)));
      const extra = subscribeGrpc(server.grpcAddress, { start: { case: "fromNow", value: true } });
      const ended = await Promise.race([extra.ended, new Promise<"open">((resolve) => setTimeout(() => resolve("open"), FIRST_MESSAGE_MS))]);
      extra.cancel();
      assert.ok(ended !== "ok" && ended !== "open" && ended.code === S.RESOURCE_EXHAUSTED, `${label}: subscription ${MAX_SUBSCRIPTIONS + 1} answered ${ended === "ok" || ended === "open" ? ended : S[ended.code]}`);
    } finally {
      for (const s of open) s.cancel();
      await Promise.all(open.map((s) => s.ended));
    }
  }

  const casesFor = (port: Port, seed: number, count: number) =>
    fc.sample(port.name === "HTTP port" ? fc.oneof({ weight: 3, arbitrary: binaryCase }, { weight: 1, arbitrary: jsonCase }) : binaryCase, { seed, numRuns: count });
  /** Runs `count` generated cases in batches (generated batch by batch, to keep 1 MB bodies few in memory). */
  async function fuzz(port: Port, seed: number, count: number, tally: Tally): Promise<void> {
    for (let done = 0, batch = 0; done < count; done += BATCH, batch++) await runCases(port, casesFor(port, seed + batch * 7919, Math.min(BATCH, count - done)), tally);
  }

  async function normalCallsWork(port: Port, label: string, tally: Tally): Promise<void> {
    const bookingId = `fz-after-${label}-${Date.now() % 1_000_000}`;
    const book = rpc("BookRoom");
    const request = { bookingId, roomId: bookingId, guestId: "G1", checkIn: "2030-03-01", checkOut: "2030-03-04", amount: "300.00", currency: "EUR", requestId: `after-${bookingId}` };
    const normal: Case = { rpc: book, kind: "normal", body: encode(book, request), json: false };
    const booked = await port.send(normal).answer;
    assert.equal(booked.code, 0, `${label}: a normal BookRoom after the fuzz: ${booked.message}`);
    recordOk(normal, booked, tally);
    const get = rpc("GetBooking");
    const state = await port.send({ rpc: get, kind: "normal", body: encode(get, { bookingId }), json: false }).answer;
    assert.equal(state.code, 0, `${label}: GetBooking after the fuzz: ${state.message}`);
  }

  before(async () => {
    // No scheduler: a command the fuzz schedules would run by itself and write what no call of the audit wrote.
    server = await startServerProcess({ MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS), SCHEDULER: "off" });
    server.child.stderr!.on("data", (chunk) => (serverStderr += chunk));
    grpcClient = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
    h2GrpcPort = http2.connect(`http://${server.grpcAddress}`);
    h2HttpPort = http2.connect(server.httpUrl);
    for (const session of [h2GrpcPort, h2HttpPort]) session.on("error", () => {}); // a dropped session fails its calls, which are counted
    const book = rpc("BookRoom");
    for (const bookingId of BOOKINGS) {
      const outcome = await grpcJsRaw(grpcClient, book.path, encode(book, { bookingId, roomId: bookingId, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-05", amount: "500.00", currency: "EUR" }));
      assert.equal(outcome.code, 0, `seed booking ${bookingId}: ${outcome.message}`);
    }
    // Warm-up: the same mix (with a different seed), oversized bodies included, so the heap has
    // grown to its working size. Without the oversized ones the first 4 MiB bodies came after the
    // baseline, and the allocator's growth from them (not a leak: it stays flat over 3× as many
    // calls) was counted against the server.
    // The baseline is the most the process held during the warm-up, not what it held after it:
    // how much of its high-water mark the allocator keeps after a burst of 4 MiB bodies varies
    // from run to run (227 to 353 MiB settled after the same test has been seen), so a
    // settled figure compared with a settled figure failed about one run in twenty with no leak.
    // This catches gross leaks (a body or a buffer kept per call). A few KB a call is below what
    // RSS can tell from the allocator's noise here, with either baseline: 5 KB kept per handled
    // call passed both, 20 KB failed. The benchmark's RSS check (1M against 100k commands) is the
    // fine one.
    const scratch = { "gRPC port": newTally(), "HTTP port": newTally() };
    const sampling = setInterval(() => {
      if (server.child.exitCode === null) rssWarmUpPeak = Math.max(rssWarmUpPeak, rssKb(server.child.pid!));
    }, 100);
    try {
      await fuzz(grpcPort, SEED + 1, WARM_UP_CALLS, scratch["gRPC port"]);
      await runCases(grpcPort, oversizedCases().filter((c) => !c.json), scratch["gRPC port"]);
      await fuzz(httpPort, SEED + 2, WARM_UP_CALLS, scratch["HTTP port"]);
      await runCases(httpPort, oversizedCases(), scratch["HTTP port"]);
    } finally {
      clearInterval(sampling);
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    rssBaseline = rssKb(server.child.pid!);
    rssWarmUpPeak = Math.max(rssWarmUpPeak, rssBaseline);
    storedBefore = readStore(server.databasePath);
  });

  after(async () => {
    grpcClient?.close();
    h2GrpcPort?.destroy();
    h2HttpPort?.destroy();
    await server?.dispose();
  });

  for (const name of ["gRPC port", "HTTP port"] as const) {
    it(`${name}: ${CALLS_PER_PORT} bad calls get the allowed codes, named problems, no crash`, async () => {
      const port = name === "gRPC port" ? grpcPort : httpPort;
      const tally = tallies[name];
      const started = performance.now();
      await fuzz(port, name === "gRPC port" ? SEED : SEED + 1_000_003, CALLS_PER_PORT, tally);
      await runCases(port, oversizedCases().filter((c) => name === "HTTP port" || !c.json), tally);
      seconds[name] = (performance.now() - started) / 1000;
      rssAfter[name] = rssKb(server.child.pid!);
      assert.equal(server.child.exitCode, null, `the server is still running; stderr: ${serverStderr.slice(0, 2000)}`);
      assert.deepEqual(tally.problems.slice(0, 25), [], `${tally.problems.length} answer(s) not allowed (seed ${SEED})`);
      for (const r of RPCS) assert.ok((tally.perRpc.get(r.method.name) ?? 0) >= CALLS_PER_PORT / 50, `${r.path} got ${tally.perRpc.get(r.method.name) ?? 0} calls`);
      await normalCallsWork(port, name === "gRPC port" ? "grpc" : "http", tally);
    });
  }

  for (const name of ["gRPC port", "HTTP port"] as const) {
    it(`${name}: ${STREAM_CALLS_PER_PORT} bad streaming calls (Subscribe, Health/Watch, reflection) get the allowed answers, each cancelled`, async () => {
      const tally = streamTallies[name];
      const started = performance.now();
      const logsBefore = server.logs.length;
      const cases = streamCasesFor(name, (name === "gRPC port" ? SEED : SEED + 1_000_003) + 17, STREAM_CALLS_PER_PORT);
      await runStreamCases(name, cases, tally);
      seconds[`${name} streams`] = (performance.now() - started) / 1000;
      assert.equal(server.child.exitCode, null, `the server is still running; stderr: ${serverStderr.slice(0, 2000)}`);
      assert.deepEqual(tally.problems.slice(0, 25), [], `${tally.problems.length} streaming answer(s) not allowed (seed ${SEED})`);
      for (const r of STREAM_RPCS) assert.ok((tally.perRpc.get(r.path) ?? 0) >= STREAM_CALLS_PER_PORT / 20, `${r.path} got ${tally.perRpc.get(r.path) ?? 0} calls`);
      assert.ok(tally.cut >= STREAM_CALLS_PER_PORT / 10, `only ${tally.cut} streams were accepted and cut by the client`);
      // Every stream the client cancelled ended on the server too, and gave its subscription back.
      await eventually(`${name}: ${tally.cut} cancelled streams ending on the server`, async () => streamsEnded(logsBefore) >= tally.cut, 20_000);
      await subscriptionLimitIntact(name);
      await normalCallsWork(name === "gRPC port" ? grpcPort : httpPort, name === "gRPC port" ? "grpc-streams" : "http-streams", tallies[name]);
    });
  }

  it("wrote nothing for failed calls, lost no accepted one, logged no failure, and gave its memory back", async (t) => {
    const health = grpcJsClient(Health, server.grpcAddress);
    try {
      assert.equal((await health.check({})).status, HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      health.close();
    }
    // Memory: back within 20% of the most the warm-up needed, once the server has had a moment.
    let rssFinal = rssKb(server.child.pid!);
    for (let waited = 0; rssFinal > rssWarmUpPeak * 1.2 && waited < 20_000; waited += 500) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      rssFinal = rssKb(server.child.pid!);
    }
    const failures = server.logs.filter((l) => Number(l.level) >= 50);

    assert.equal(await server.stop("SIGTERM"), 0, "clean shutdown after the fuzz");
    const stored = readStore(server.databasePath);
    const known = new Set(storedBefore.events.map((e) => e.id));
    const knownRequests = new Set(storedBefore.requests.map((r) => r.requestId));
    const all = new Map([...tallies["gRPC port"].commandIds, ...tallies["HTTP port"].commandIds]);
    const storeProblems: string[] = [];
    const newEvents = stored.events.filter((e) => !known.has(e.id));
    for (const e of newEvents) {
      const code = all.get(e.commandId);
      if (code !== 0) storeProblems.push(`event ${e.id} on ${e.streamId} written by command ${e.commandId}, answered ${code === undefined ? "nothing seen" : S[code]}`);
    }
    for (const r of stored.requests.filter((r) => !knownRequests.has(r.requestId))) {
      const code = all.get(r.commandId);
      const allowed = { accepted: 0, rejected: S.FAILED_PRECONDITION, already_exists: S.ALREADY_EXISTS }[r.status];
      if (allowed === undefined || code !== allowed) storeProblems.push(`request record ${r.requestId.slice(0, 40)}: ${r.status}, command answered ${code === undefined ? "nothing seen" : S[code]}`);
    }
    const touched = new Set(newEvents.map((e) => e.streamId));
    for (const [streamId, revision] of stored.snapshots) {
      if (storedBefore.snapshots.get(streamId) !== revision && !touched.has(streamId)) storeProblems.push(`snapshot of ${streamId} changed without an accepted command`);
    }
    const storedIds = new Set(stored.events.map((e) => e.id));
    const accepted = [...tallies["gRPC port"].acceptedEvents, ...tallies["HTTP port"].acceptedEvents];
    const lost = accepted.filter((id) => !storedIds.has(id)).length;
    const invalidCommands = [...all.values()].filter((code) => code === S.INVALID_ARGUMENT).length;

    for (const name of ["gRPC port", "HTTP port"] as const) {
      const tally = tallies[name];
      const streams = streamTallies[name];
      const codesOf = (t: Tally) => [...t.codes].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(", ");
      const codes = `${codesOf(tally)}; ${streams.calls} streaming calls in ${seconds[`${name} streams`]?.toFixed(1)} s: ${codesOf(streams)}`;
      t.diagnostic(
        reliabilityRow({
          scenario: `fuzz: bad input, ${name}`,
          callsTried: tally.calls + streams.calls,
          failures: tally.problems.length + streams.problems.length + (name === "gRPC port" ? storeProblems.length + failures.length : 0),
          dataLost: name === "gRPC port" ? lost : 0,
          note:
            `seed ${SEED}; ${seconds[name]?.toFixed(1)} s; ${(tally.bytesSent / 1e6).toFixed(0)} MB sent; codes: ${codes}` +
            `; RSS ${Math.round(rssWarmUpPeak / 1024)} MiB at most in the warm-up, ${Math.round(rssBaseline / 1024)} MiB after it → ${Math.round(rssAfter[name] / 1024)} MiB after → ${Math.round(rssFinal / 1024)} MiB settled` +
            (name === "gRPC port" ? `; store: ${newEvents.length} new events all from accepted calls, ${invalidCommands} INVALID_ARGUMENT commands wrote nothing` : ""),
        }),
      );
    }
    assert.deepEqual(storeProblems.slice(0, 20), [], `${storeProblems.length} write(s) by calls that did not succeed`);
    assert.equal(lost, 0, "every event of an accepted command is stored");
    assert.deepEqual(failures.map((l) => `${l.msg} ${l.method ?? ""}: ${JSON.stringify(l.err ?? l).slice(0, 200)}`).slice(0, 25), [], `${failures.length} handler or command failure(s) logged`);
    assert.ok(invalidCommands > 1000, `the fuzz reached the command validation (${invalidCommands} INVALID_ARGUMENT commands)`);
    assert.ok(rssFinal <= rssWarmUpPeak * 1.2, `RSS ${rssFinal} kB settles within 20% of the ${rssWarmUpPeak} kB the warm-up needed at most`);
  });
});
