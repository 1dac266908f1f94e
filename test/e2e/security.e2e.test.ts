import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { base64url, exportJWK, exportSPKI, generateKeyPair } from "jose";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { PaymentNotificationService } from "../../src/gen/payments/v1/payments_pb.js";
import { CommandService, CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { hs256Token, outcomeOf, runServerToExit, signedToken, unsignedToken, type Outcome, type TokenSpec } from "../support/auth-helpers.js";
import { failing, grpcJsClient, type GrpcJsClient } from "../support/grpc-client.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");
const BUF = join(ROOT, "node_modules", ".bin", "buf");

const SECRET = randomBytes(24).toString("base64url"); // 32 characters
const ISSUER = "https://auth.switchyard.test";
const AUDIENCE = "switchyard-e2e";
const TENANT_A = "tenant-a";
const TENANT_B = "tenant-b";
const ALL_SCOPES = "bookings:write bookings:read bookings:own payments:notify";

const S = grpc.status;
const paidAt = timestampFromDate(new Date("2026-01-15T10:00:00Z"));
const bearer = (token: string) => `Bearer ${token}`;
/** A valid token for this server: issuer and audience right, an hour to live. */
const token = (spec: TokenSpec) => hs256Token(SECRET, { issuer: ISSUER, audience: AUDIENCE, ...spec });
const auth = async (spec: TokenSpec) => ({ authorization: bearer(await token(spec)) });

function assertOutcome(actual: Outcome, code: grpc.status, reason: string | undefined, label: string): void {
  assert.equal(actual.code, code, `${label}: expected ${S[code]}, got ${S[actual.code] ?? actual.code} (${actual.reason}: ${actual.message})`);
  if (reason !== undefined) assert.equal(actual.reason, reason, `${label}: ErrorInfo reason (${actual.message})`);
}

describe("security over real ports (AUTH_MODE=jwt)", () => {
  let server: ServerProcess;
  let booking: GrpcJsClient<typeof BookingService>;
  let payments: GrpcJsClient<typeof PaymentNotificationService>;
  let commands: GrpcJsClient<typeof CommandService>;
  let events: GrpcJsClient<typeof EventStoreService>;
  let health: GrpcJsClient<typeof Health>;
  let connectBooking: ReturnType<typeof createClient<typeof BookingService>>;
  /** Tenant A: staff with every scope, and a reader. */
  let aAll: Record<string, string>;
  let aRead: Record<string, string>;
  /** Tenant B with every scope. */
  let bAll: Record<string, string>;

  before(async () => {
    server = await startServerProcess({ AUTH_MODE: "jwt", AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
    booking = grpcJsClient(BookingService, server.grpcAddress);
    payments = grpcJsClient(PaymentNotificationService, server.grpcAddress);
    commands = grpcJsClient(CommandService, server.grpcAddress);
    events = grpcJsClient(EventStoreService, server.grpcAddress);
    health = grpcJsClient(Health, server.grpcAddress);
    connectBooking = createClient(BookingService, createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "1.1" }));
    aAll = await auth({ sub: "staff-a", tenant: TENANT_A, scope: ALL_SCOPES });
    aRead = await auth({ sub: "reader-a", tenant: TENANT_A, scope: "bookings:read" });
    bAll = await auth({ sub: "staff-b", tenant: TENANT_B, scope: ALL_SCOPES });
  });
  after(async () => {
    for (const client of [booking, payments, commands, events, health]) client?.close();
    await server?.dispose();
  });

  /** Tenant A's stream of a booking, read with A's read-only token. */
  const streamOfA = async (bookingId: string) => events.readStream({ streamId: `booking-${bookingId}` }, aRead);
  const bookForA = async (bookingId: string, guestId = "guest-1") => {
    const booked = await booking.bookRoom(bookRoomRequest(bookingId, { guestId }), aAll);
    assert.equal(booked.status, CommandStatus.ACCEPTED);
    return booked;
  };

  describe("1. the token table, on both ports: the command never runs", () => {
    type Row = { name: string; authorization: () => Promise<string | undefined>; code: grpc.status; reason?: string };
    const rows: Row[] = [
      { name: "no token", authorization: async () => undefined, code: S.UNAUTHENTICATED, reason: "TOKEN_MISSING" },
      { name: "not a bearer scheme", authorization: async () => `Basic ${Buffer.from("staff-a:pw").toString("base64")}`, code: S.UNAUTHENTICATED, reason: "TOKEN_MALFORMED" },
      { name: "malformed token", authorization: async () => bearer("not-a.jwt"), code: S.UNAUTHENTICATED, reason: "TOKEN_MALFORMED" },
      {
        name: "expired token",
        authorization: async () => bearer(await token({ sub: "staff-a", tenant: TENANT_A, scope: ALL_SCOPES, exp: Math.floor(Date.now() / 1000) - 3600 })),
        code: S.UNAUTHENTICATED,
        reason: "TOKEN_EXPIRED",
      },
      {
        name: "bad signature (another secret)",
        authorization: async () => bearer(await hs256Token(randomBytes(32).toString("hex"), { sub: "staff-a", tenant: TENANT_A, scope: ALL_SCOPES, issuer: ISSUER, audience: AUDIENCE })),
        code: S.UNAUTHENTICATED,
        reason: "TOKEN_BAD_SIGNATURE",
      },
      {
        name: "tampered payload (read token given write scope, signature kept)",
        authorization: async () => {
          const [header, , signature] = (await token({ sub: "reader-a", tenant: TENANT_A, scope: "bookings:read" })).split(".");
          const payload = base64url.encode(JSON.stringify({ sub: "reader-a", tenant: TENANT_A, scope: ALL_SCOPES, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 }));
          return bearer(`${header}.${payload}.${signature}`);
        },
        code: S.UNAUTHENTICATED,
        reason: "TOKEN_BAD_SIGNATURE",
      },
      {
        name: "alg none (unsigned)",
        authorization: async () => bearer(unsignedToken({ sub: "staff-a", tenant: TENANT_A, scope: ALL_SCOPES, issuer: ISSUER, audience: AUDIENCE })),
        code: S.UNAUTHENTICATED,
        reason: "TOKEN_ALGORITHM_NOT_ALLOWED",
      },
      {
        name: "wrong audience",
        authorization: async () => bearer(await token({ sub: "staff-a", tenant: TENANT_A, scope: ALL_SCOPES, audience: "some-other-service" })),
        code: S.UNAUTHENTICATED,
        reason: "TOKEN_CLAIM_INVALID",
      },
      {
        name: "wrong issuer",
        authorization: async () => bearer(await token({ sub: "staff-a", tenant: TENANT_A, scope: ALL_SCOPES, issuer: "https://evil.test" })),
        code: S.UNAUTHENTICATED,
        reason: "TOKEN_CLAIM_INVALID",
      },
      {
        name: "no tenant claim",
        authorization: async () => bearer(await token({ sub: "staff-a", scope: ALL_SCOPES })),
        code: S.UNAUTHENTICATED,
        reason: "TOKEN_CLAIM_INVALID",
      },
      {
        name: "missing scope (bookings:read only)",
        authorization: async () => aRead.authorization,
        code: S.PERMISSION_DENIED,
        reason: "PERMISSION_DENIED",
      },
      {
        name: 'wildcard scope "*" grants nothing',
        authorization: async () => bearer(await token({ sub: "staff-a", tenant: TENANT_A, scope: "*" })),
        code: S.PERMISSION_DENIED,
        reason: "PERMISSION_DENIED",
      },
      { name: "other tenant (valid, every scope)", authorization: async () => bAll.authorization, code: S.NOT_FOUND, reason: "AGGREGATE_NOT_FOUND" },
    ];

    let bookingId: string;
    before(async () => {
      bookingId = newId("A-table");
      await bookForA(bookingId);
    });

    for (const port of ["gRPC", "HTTP (Connect)"] as const) {
      for (const row of rows) {
        it(`${port}: ${row.name} → ${S[row.code]}${row.reason ? ` ${row.reason}` : ""}`, async () => {
          const before = await streamOfA(bookingId);
          const paymentId = newId("P");
          const request = { bookingId, paymentId, amount: "10.00", currency: "EUR", paidAt, requestId: newId("pay") };
          const authorization = await row.authorization();
          const call =
            port === "gRPC"
              ? booking.recordPayment(request, authorization === undefined ? {} : { authorization })
              : connectBooking.recordPayment(request, authorization === undefined ? {} : { headers: { authorization } });
          assertOutcome(await outcomeOf(call), row.code, row.reason, `${port} ${row.name}`);

          const afterwards = await streamOfA(bookingId);
          assert.equal(afterwards.streamRevision, before.streamRevision, "tenant A's stream did not move");
          assert.deepEqual(afterwards.events.map((e) => e.id), before.events.map((e) => e.id));
          assert.ok(!afterwards.events.some((e) => (e.data as { paymentId?: string }).paymentId === paymentId), "no payment was recorded");
        });
      }
    }

    it("control: the same call with a valid token of tenant A runs, on both ports", async () => {
      const viaGrpc = await booking.recordPayment({ bookingId, paymentId: newId("P"), amount: "1.00", currency: "EUR", paidAt, requestId: newId("pay") }, aAll);
      const viaHttp = await connectBooking.recordPayment(
        { bookingId, paymentId: newId("P"), amount: "1.00", currency: "EUR", paidAt, requestId: newId("pay") },
        { headers: aAll },
      );
      assert.deepEqual([viaGrpc.status, viaHttp.status], [CommandStatus.ACCEPTED, CommandStatus.ACCEPTED]);
      assert.equal((await streamOfA(bookingId)).streamRevision, 3n);
    });
  });

  describe("2. per-command authorization", () => {
    let bookingId: string;
    before(async () => {
      bookingId = newId("A-authz");
      await bookForA(bookingId);
    });

    it("payments.v1 NotifyPaymentSucceeded with only bookings:write → PERMISSION_DENIED, nothing written", async () => {
      const writer = await auth({ sub: "staff-a", tenant: TENANT_A, scope: "bookings:write" });
      const result = await outcomeOf(
        payments.notifyPaymentSucceeded({ providerPaymentId: newId("pp"), bookingReference: bookingId, amountMinor: 1000n, currency: "EUR", occurredAt: paidAt }, writer),
      );
      assertOutcome(result, S.PERMISSION_DENIED, "PERMISSION_DENIED", "notify with bookings:write");
      assert.equal((await streamOfA(bookingId)).streamRevision, 1n);
    });

    it("booking.v1 RecordPayment with only payments:notify → PERMISSION_DENIED (the booking API's edge gate)", async () => {
      const provider = await auth({ sub: "provider", tenant: TENANT_A, scope: "payments:notify" });
      const result = await outcomeOf(booking.recordPayment({ bookingId, paymentId: newId("P"), amount: "10.00", currency: "EUR", paidAt, requestId: newId("r") }, provider));
      assertOutcome(result, S.PERMISSION_DENIED, "PERMISSION_DENIED", "booking.v1 RecordPayment with payments:notify");
      assert.equal((await streamOfA(bookingId)).streamRevision, 1n);
    });

    it("Execute booking.RecordPayment with only payments:notify → accepted (the command's own policy decides)", async () => {
      const provider = await auth({ sub: "provider", tenant: TENANT_A, scope: "payments:notify" });
      const paymentId = newId("P");
      const result = await commands.execute(
        {
          commandType: "booking.RecordPayment",
          aggregateId: bookingId,
          payload: { paymentId, amount: "10.00", currency: "EUR", paidAt: "2026-01-15T10:00:00Z" },
          requestId: newId("r"),
        },
        provider,
      );
      assert.equal(result.status, CommandStatus.ACCEPTED);
      const stream = await streamOfA(bookingId);
      assert.equal(stream.events.at(-1)?.type, "PaymentRecorded");
      assert.equal((stream.events.at(-1)?.data as { paymentId: string }).paymentId, paymentId);
      // …and the notify scope does not stretch to other commands through Execute.
      const cancel = await outcomeOf(commands.execute({ commandType: "booking.CancelBooking", aggregateId: bookingId, payload: { reason: "x" } }, provider));
      assertOutcome(cancel, S.PERMISSION_DENIED, "PERMISSION_DENIED", "Execute CancelBooking with payments:notify");
    });

    it("GetBooking, ReadStream and ReadAll with only bookings:write → PERMISSION_DENIED; bookings:read may", async () => {
      const writer = await auth({ sub: "staff-a", tenant: TENANT_A, scope: "bookings:write" });
      assertOutcome(await outcomeOf(booking.getBooking({ bookingId }, writer)), S.PERMISSION_DENIED, "PERMISSION_DENIED", "GetBooking");
      assertOutcome(await outcomeOf(events.readStream({ streamId: `booking-${bookingId}` }, writer)), S.PERMISSION_DENIED, "PERMISSION_DENIED", "ReadStream");
      assertOutcome(await outcomeOf(events.readAll({}, writer)), S.PERMISSION_DENIED, "PERMISSION_DENIED", "ReadAll");
      for (const [name, call] of [
        ["GetBooking", () => booking.getBooking({ bookingId }, {})],
        ["ReadStream", () => events.readStream({ streamId: `booking-${bookingId}` }, {})],
        ["ReadAll", () => events.readAll({}, {})],
      ] as const) {
        assertOutcome(await outcomeOf(call()), S.UNAUTHENTICATED, "TOKEN_MISSING", `${name} without a token`);
      }
      assert.equal((await booking.getBooking({ bookingId }, aRead)).bookingId, bookingId);
      assert.ok((await events.readAll({}, aRead)).events.length > 0);
    });

    it("bookings:own cancels its own booking, is denied another guest's and a missing one (before existence is revealed)", async () => {
      const guest = `guest-${randomUUID().slice(0, 6)}`;
      const own = await auth({ sub: guest, tenant: TENANT_A, scope: "bookings:own" });
      const mine = newId("A-mine");
      const theirs = newId("A-theirs");
      await bookForA(mine, guest);
      await bookForA(theirs, "somebody-else");

      assertOutcome(await outcomeOf(booking.cancelBooking({ bookingId: theirs, reason: "not mine" }, own)), S.PERMISSION_DENIED, "PERMISSION_DENIED", "cancel another guest's");
      assertOutcome(
        await outcomeOf(commands.execute({ commandType: "booking.CancelBooking", aggregateId: theirs, payload: { reason: "not mine" } }, own)),
        S.PERMISSION_DENIED,
        "PERMISSION_DENIED",
        "Execute cancel of another guest's",
      );
      assertOutcome(await outcomeOf(booking.cancelBooking({ bookingId: newId("A-missing"), reason: "x" }, own)), S.PERMISSION_DENIED, "PERMISSION_DENIED", "cancel a missing booking");
      // bookings:own is no licence to book or to pay.
      assertOutcome(await outcomeOf(booking.bookRoom(bookRoomRequest(newId("A-own-book"), { guestId: guest }), own)), S.PERMISSION_DENIED, "PERMISSION_DENIED", "own BookRoom");
      assertOutcome(
        await outcomeOf(booking.recordPayment({ bookingId: mine, paymentId: newId("P"), amount: "1.00", currency: "EUR", paidAt }, own)),
        S.PERMISSION_DENIED,
        "PERMISSION_DENIED",
        "own RecordPayment on own booking",
      );
      assert.deepEqual((await streamOfA(theirs)).events.map((e) => e.type), ["RoomBooked"]);
      assert.deepEqual((await streamOfA(mine)).events.map((e) => e.type), ["RoomBooked"]);

      const cancelled = await booking.cancelBooking({ bookingId: mine, reason: "plans changed" }, own);
      assert.equal(cancelled.status, CommandStatus.ACCEPTED);
      const stream = await streamOfA(mine);
      assert.deepEqual(stream.events.map((e) => e.type), ["RoomBooked", "BookingCancelled"]);
      assert.equal(stream.events[1].metadata?.userId, guest);
      assert.equal((await booking.getBooking({ bookingId: theirs }, aRead)).status, "booked");
    });
  });

  describe("3. tenant isolation on every RPC", () => {
    let bookingId: string;
    let requestId: string;
    let paymentRequest: { bookingId: string; paymentId: string; amount: string; currency: string; paidAt: typeof paidAt; requestId: string };
    let notify: { providerPaymentId: string; bookingReference: string; amountMinor: bigint; currency: string; occurredAt: typeof paidAt };
    let eventIdsOfA: Set<string>;

    before(async () => {
      bookingId = newId("A-iso");
      await bookForA(bookingId, "guest-a");
      requestId = newId("pay-a");
      paymentRequest = { bookingId, paymentId: newId("P"), amount: "20.00", currency: "EUR", paidAt, requestId };
      assert.equal((await booking.recordPayment(paymentRequest, aAll)).status, CommandStatus.ACCEPTED);
      notify = { providerPaymentId: newId("pp"), bookingReference: bookingId, amountMinor: 500n, currency: "EUR", occurredAt: paidAt };
      assert.equal((await payments.notifyPaymentSucceeded(notify, aAll)).status, CommandStatus.ACCEPTED);
      eventIdsOfA = new Set((await streamOfA(bookingId)).events.map((e) => e.id));
      assert.equal(eventIdsOfA.size, 3);
    });

    it("tenant B's commands and reads on A's booking all answer NOT_FOUND", async () => {
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["RecordPayment", () => booking.recordPayment({ bookingId, paymentId: newId("P"), amount: "1.00", currency: "EUR", paidAt, requestId: newId("r") }, bAll)],
        ["CancelBooking", () => booking.cancelBooking({ bookingId, reason: "hostile", requestId: newId("r") }, bAll)],
        ["GetBooking", () => booking.getBooking({ bookingId }, bAll)],
        ["NotifyPaymentSucceeded", () => payments.notifyPaymentSucceeded({ providerPaymentId: newId("pp"), bookingReference: bookingId, amountMinor: 100n, currency: "EUR", occurredAt: paidAt }, bAll)],
        [
          "Execute RecordPayment",
          () =>
            commands.execute({ commandType: "booking.RecordPayment", aggregateId: bookingId, payload: { paymentId: newId("P"), amount: "1.00", currency: "EUR", paidAt: "2026-01-15T10:00:00Z" } }, bAll),
        ],
        ["Execute CancelBooking", () => commands.execute({ commandType: "booking.CancelBooking", aggregateId: bookingId, payload: { reason: "hostile" } }, bAll)],
      ];
      for (const [name, call] of calls) assertOutcome(await outcomeOf(call()), S.NOT_FOUND, "AGGREGATE_NOT_FOUND", `tenant B ${name}`);
      const stream = await streamOfA(bookingId);
      assert.deepEqual(new Set(stream.events.map((e) => e.id)), eventIdsOfA, "A's stream unchanged");
      assert.equal((await booking.getBooking({ bookingId }, aRead)).status, "booked");
    });

    it("tenant B's ReadStream of A's stream is NOT_FOUND and ReadAll never shows an event of A", async () => {
      const read = await outcomeOf(events.readStream({ streamId: `booking-${bookingId}` }, bAll));
      assert.equal(read.code, grpc.status.NOT_FOUND);
      const all = await events.readAll({ maxCount: 1000 }, bAll);
      for (const e of all.events) {
        assert.ok(!eventIdsOfA.has(e.id), `event ${e.id} of tenant A leaked to tenant B`);
        assert.equal(e.metadata?.tenant, TENANT_B);
      }
      // A sees its own events in ReadAll, so the filter above is not vacuous.
      const ofA = (await events.readAll({ maxCount: 1000 }, aRead)).events.filter((e) => eventIdsOfA.has(e.id));
      assert.equal(ofA.length, 3);
    });

    let aCommandId: string;
    let bCommandId: string;
    it("tenant B sending A's request id (same payload) gets no replay of A's result", async () => {
      const aAgain = await booking.recordPayment(paymentRequest, aAll);
      assert.equal(aAgain.replayed, true, "A's own retry replays");
      aCommandId = aAgain.commandId;

      const viaBooking = await failing(booking.recordPayment(paymentRequest, bAll));
      assertOutcome({ code: viaBooking.code, reason: viaBooking.errorInfo?.reason }, S.NOT_FOUND, "AGGREGATE_NOT_FOUND", "B replays A's RecordPayment request id");
      assert.equal(viaBooking.commandResult?.replayed, false);
      assert.notEqual(viaBooking.commandResult?.commandId, aCommandId);
      bCommandId = viaBooking.commandResult!.commandId;
      const viaNotify = await outcomeOf(payments.notifyPaymentSucceeded(notify, bAll));
      assertOutcome(viaNotify, S.NOT_FOUND, "AGGREGATE_NOT_FOUND", "B redelivers A's provider notification");
      assert.deepEqual(new Set((await streamOfA(bookingId)).events.map((e) => e.id)), eventIdsOfA);
    });

    it("tenant B booking the same booking id is independent: accepted in B, A's booking unchanged", async () => {
      const before = await booking.getBooking({ bookingId }, aRead);
      const booked = await booking.bookRoom({ ...bookRoomRequest(bookingId, { guestId: "guest-b" }), price: "99.00" }, bAll);
      assert.equal(booked.status, CommandStatus.ACCEPTED);
      assert.equal(booked.revision, 1n);
      const inB = await booking.getBooking({ bookingId }, bAll);
      assert.deepEqual([inB.guestId, inB.price, inB.paid, inB.revision, inB.paymentIds], ["guest-b", "99.00", "0.00", 1n, []]);
      const inA = await booking.getBooking({ bookingId }, aRead);
      assert.deepEqual(inA, before);
      assert.equal(inA.guestId, "guest-a");

      // B's earlier NOT_FOUND is not kept for replay (the booking may appear later), so the same
      // request id now runs in B's tenant: a fresh command, never A's acceptance.
      const paid = await booking.recordPayment(paymentRequest, bAll);
      assert.deepEqual([paid.status, paid.replayed, paid.revision], [CommandStatus.ACCEPTED, false, 2n]);
      assert.notEqual(paid.commandId, aCommandId);
      assert.notEqual(paid.commandId, bCommandId);
      assert.deepEqual(new Set((await streamOfA(bookingId)).events.map((e) => e.id)), eventIdsOfA, "A's stream unchanged");
      assert.deepEqual((await booking.getBooking({ bookingId }, aRead)).paymentIds, before.paymentIds);
    });
  });

  describe("4. every accepted command records who ran it", () => {
    it("event metadata: userId = sub, tenant = the token's tenant, on every edge and both ports", async () => {
      const bookingId = newId("A-who");
      const staff = await auth({ sub: "alice", tenant: TENANT_A, scope: "bookings:write" });
      const provider = await auth({ sub: "psp-1", tenant: TENANT_A, scope: "payments:notify" });
      const billing = await auth({ sub: "billing-job", tenant: TENANT_A, scope: "payments:notify" });
      const guest = await auth({ sub: "guest-who", tenant: TENANT_A, scope: "bookings:own" });

      await connectBooking.bookRoom(bookRoomRequest(bookingId, { guestId: "guest-who" }), { headers: staff });
      await booking.recordPayment({ bookingId, paymentId: "P1", amount: "10.00", currency: "EUR", paidAt, requestId: newId("r") }, staff);
      await payments.notifyPaymentSucceeded({ providerPaymentId: newId("pp"), bookingReference: bookingId, amountMinor: 1000n, currency: "EUR", occurredAt: paidAt }, provider);
      await commands.execute(
        { commandType: "booking.RecordPayment", aggregateId: bookingId, payload: { paymentId: "P3", amount: "10.00", currency: "EUR", paidAt: "2026-01-15T10:00:00Z" } },
        billing,
      );
      await booking.cancelBooking({ bookingId, reason: "changed my mind" }, guest);

      const stream = await streamOfA(bookingId);
      assert.deepEqual(
        stream.events.map((e) => [e.type, e.metadata?.commandType, e.metadata?.userId, e.metadata?.tenant, e.metadata?.clientId]),
        [
          ["RoomBooked", "booking.BookRoom", "alice", TENANT_A, ""],
          ["PaymentRecorded", "booking.RecordPayment", "alice", TENANT_A, ""],
          ["PaymentRecorded", "booking.RecordPayment", "psp-1", TENANT_A, ""],
          ["PaymentRecorded", "booking.RecordPayment", "billing-job", TENANT_A, ""],
          ["BookingCancelled", "booking.CancelBooking", "guest-who", TENANT_A, ""],
        ],
      );
    });

    it("a client-subject header sent by the caller over cleartext is ignored (no forged clientId)", async () => {
      const bookingId = newId("A-forge");
      const headers = { ...aAll, "x-switchyard-client-subject": "CN=admin,O=tenant-b" };
      await connectBooking.bookRoom(bookRoomRequest(bookingId), { headers });
      const h2 = createClient(BookingService, createConnectTransport({ baseUrl: server.httpUrl, httpVersion: "2" }));
      await h2.recordPayment({ bookingId, paymentId: "P1", amount: "1.00", currency: "EUR", paidAt }, { headers });
      await booking.recordPayment({ bookingId, paymentId: "P2", amount: "1.00", currency: "EUR", paidAt }, headers);
      const stream = await streamOfA(bookingId);
      assert.deepEqual(stream.events.map((e) => [e.metadata?.userId, e.metadata?.tenant, e.metadata?.clientId]), [
        ["staff-a", TENANT_A, ""],
        ["staff-a", TENANT_A, ""],
        ["staff-a", TENANT_A, ""],
      ]);
    });

    it("a token minted by scripts/mint-token.mjs is accepted and its sub recorded", async () => {
      const { stdout } = await run(
        process.execPath,
        [join(ROOT, "scripts", "mint-token.mjs"), "--sub", "script-user", "--tenant", TENANT_A, "--scope", "bookings:write", "--issuer", ISSUER, "--audience", AUDIENCE],
        { env: { ...process.env, AUTH_JWT_SECRET: SECRET }, timeout: 20_000 },
      );
      const bookingId = newId("A-script");
      const booked = await booking.bookRoom(bookRoomRequest(bookingId), { authorization: bearer(stdout.trim()) });
      assert.equal(booked.status, CommandStatus.ACCEPTED);
      assert.equal((await streamOfA(bookingId)).events[0].metadata?.userId, "script-user");
    });
  });

  describe("5. health and reflection need no token", () => {
    it("grpc.health.v1.Health/Check answers SERVING without a token", async () => {
      assert.equal((await health.check({})).status, HealthCheckResponse_ServingStatus.SERVING);
    });

    it("buf curl lists the services through reflection without a token, but a command through it is still refused", async () => {
      const curl = (...args: string[]) => run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 30_000 });
      const listed = (await curl("--list-services", `http://${server.grpcAddress}`)).stdout.split("\n").filter(Boolean);
      assert.ok(listed.includes("booking.v1.BookingService"), listed.join(","));
      assert.ok(listed.includes("grpc.health.v1.Health"), listed.join(","));
      const refused = await curl("-d", JSON.stringify(bookRoomRequest(newId("A-curl"))), `http://${server.grpcAddress}/booking.v1.BookingService/BookRoom`).then(
        () => assert.fail("a command ran without a token"),
        (error: { code: number; stderr: string }) => error,
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /unauthenticated/i);
    });

    it("with REFLECTION=off, list-services fails", async () => {
      const quiet = await startServerProcess({ AUTH_MODE: "jwt", AUTH_JWT_SECRET: SECRET, REFLECTION: "off" });
      try {
        const failure = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", `http://${quiet.grpcAddress}`], { timeout: 30_000 }).then(
          () => assert.fail("list-services succeeded without reflection"),
          (error: { code: number; stderr: string }) => error,
        );
        assert.notEqual(failure.code, 0);
        assert.match(failure.stderr, /unimplemented|reflection/i);
        // The server itself is up: health still answers.
        const probe = grpcJsClient(Health, quiet.grpcAddress);
        try {
          assert.equal((await probe.check({})).status, HealthCheckResponse_ServingStatus.SERVING);
        } finally {
          probe.close();
        }
      } finally {
        await quiet.dispose();
      }
    });
  });
});

describe("6. start-up refusals", () => {
  it("HOST=0.0.0.0 with AUTH_MODE=none exits non-zero naming AUTH_MODE", async () => {
    const exit = await runServerToExit({ HOST: "0.0.0.0", AUTH_MODE: "none" });
    assert.equal(exit.signal, null, `the server started and had to be killed: ${exit.stdout}`);
    assert.notEqual(exit.code, 0);
    assert.match(exit.stderr, /AUTH_MODE/);
    assert.doesNotMatch(exit.stdout, /switchyard listening/);
  });

  it("AUTH_MODE=jwt without a secret or a JWKS file exits non-zero naming AUTH_JWT_SECRET", async () => {
    const exit = await runServerToExit({ AUTH_MODE: "jwt" });
    assert.equal(exit.signal, null, `the server started and had to be killed: ${exit.stdout}`);
    assert.notEqual(exit.code, 0);
    assert.match(exit.stderr, /AUTH_JWT_SECRET/);
  });

  it("AUTH_MODE=jwt with a secret shorter than 32 characters exits non-zero naming AUTH_JWT_SECRET", async () => {
    const exit = await runServerToExit({ AUTH_MODE: "jwt", AUTH_JWT_SECRET: "short-secret" });
    assert.equal(exit.signal, null, `the server started and had to be killed: ${exit.stdout}`);
    assert.notEqual(exit.code, 0);
    assert.match(exit.stderr, /AUTH_JWT_SECRET/);
  });
});

describe("7. RS256 through AUTH_JWKS_FILE", () => {
  it("accepts a valid RS256 token and refuses HS256 tokens (any secret, or the public key as the secret) and a foreign key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-jwks-"));
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const kid = "test-key-1";
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] };
    const jwksFile = join(dir, "jwks.json");
    writeFileSync(jwksFile, JSON.stringify(jwks));
    const rs = await startServerProcess({ AUTH_MODE: "jwt", AUTH_JWKS_FILE: jwksFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
    const client = grpcJsClient(BookingService, rs.grpcAddress);
    try {
      const claims = { sub: "rs-user", tenant: TENANT_A, scope: "bookings:write bookings:read", issuer: ISSUER, audience: AUDIENCE };
      const bookingId = newId("RS");
      const good = { authorization: bearer(await signedToken(privateKey, "RS256", claims, kid)) };
      const booked = await client.bookRoom(bookRoomRequest(bookingId), good);
      assert.equal(booked.status, CommandStatus.ACCEPTED);
      assert.equal((await client.getBooking({ bookingId }, good)).revision, 1n);

      const hsRandom = bearer(await hs256Token(randomBytes(32).toString("hex"), claims));
      const hsPublicKey = bearer(await hs256Token(await exportSPKI(publicKey), claims));
      const foreign = await generateKeyPair("RS256");
      const rsForeign = bearer(await signedToken(foreign.privateKey, "RS256", claims, kid));
      const rsWrongAudience = bearer(await signedToken(privateKey, "RS256", { ...claims, audience: "elsewhere" }, kid));
      for (const [name, authorization, reason] of [
        ["HS256 with a random secret", hsRandom, "TOKEN_ALGORITHM_NOT_ALLOWED"],
        ["HS256 keyed with the public key (algorithm confusion)", hsPublicKey, "TOKEN_ALGORITHM_NOT_ALLOWED"],
        ["RS256 from a key not in the JWKS", rsForeign, "TOKEN_BAD_SIGNATURE"],
        ["RS256 for another audience", rsWrongAudience, "TOKEN_CLAIM_INVALID"],
      ] as const) {
        const refused = await outcomeOf(client.recordPayment({ bookingId, paymentId: newId("P"), amount: "1.00", currency: "EUR", paidAt }, { authorization }));
        assertOutcome(refused, S.UNAUTHENTICATED, reason, name);
      }
      assert.equal((await client.getBooking({ bookingId }, good)).revision, 1n, "no refused call wrote anything");
    } finally {
      client.close();
      await rs.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
