import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { grpcJsClientWith, outcomeOf } from "../support/auth-helpers.js";
import { grpcJsClient } from "../support/grpc-client.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { createTestPki, opensslAvailable, type TestPki } from "../support/test-certificates.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";

const SUBJECT = "CN=billing-svc,O=acme";
const paidAt = timestampFromDate(new Date("2026-01-15T10:00:00Z"));

describe("mTLS (AUTH_MODE=mtls) on both ports", () => {
  let skipReason: string | undefined;
  let pki: TestPki;
  let server: ServerProcess;
  let booking: ReturnType<typeof grpcJsClientWith<typeof BookingService>>;
  let events: ReturnType<typeof grpcJsClientWith<typeof EventStoreService>>;
  let httpsUrl: string;

  before(async () => {
    if (!(await opensslAvailable())) {
      skipReason = "the openssl CLI is not installed; the mTLS tests need it to make certificates";
      console.log(`skipping mTLS tests: ${skipReason}`);
      return;
    }
    pki = await createTestPki();
    server = await startServerProcess({
      AUTH_MODE: "mtls",
      TLS_CERT_FILE: pki.serverCertFile,
      TLS_KEY_FILE: pki.serverKeyFile,
      TLS_CLIENT_CA_FILE: pki.caCertFile,
    });
    const credentials = grpc.credentials.createSsl(pki.caCert, pki.client.key, pki.client.cert);
    booking = grpcJsClientWith(BookingService, server.grpcAddress, credentials);
    events = grpcJsClientWith(EventStoreService, server.grpcAddress, credentials);
    httpsUrl = `https://127.0.0.1:${server.httpPort}`;
  });
  after(async () => {
    booking?.close();
    events?.close();
    await server?.dispose();
    pki?.dispose();
  });

  /** Skips the test (with the reason printed) when no certificates could be made. */
  const skipped = (t: TestContext) => {
    if (skipReason) t.skip(skipReason);
    return skipReason !== undefined;
  };
  /** A booking's stream in the certificate's tenant; one that does not exist (NOT_FOUND) reads as empty. */
  const streamOf = (bookingId: string) =>
    events.readStream({ streamId: `booking-${bookingId}` }).catch((failure: { code?: number }) => {
      if (failure.code !== grpc.status.NOT_FOUND) throw failure;
      return { events: [], streamRevision: 0n };
    });
  /** Proves a command never ran: the booking does not exist in the certificate's tenant. */
  const assertNeverBooked = async (bookingId: string, label: string) => {
    const read = await streamOf(bookingId);
    assert.deepEqual([read.events.length, read.streamRevision], [0, 0n], `${label}: the booking was not written`);
    assert.equal((await outcomeOf(booking.getBooking({ bookingId }))).code, grpc.status.NOT_FOUND, `${label}: GetBooking`);
  };

  it("gRPC with the client certificate: accepted, metadata names CN=billing-svc as client, user and tenant acme", async (t) => {
    if (skipped(t)) return;
    const bookingId = newId("M");
    const booked = await booking.bookRoom(bookRoomRequest(bookingId));
    assert.equal(booked.status, CommandStatus.ACCEPTED);
    const stream = await streamOf(bookingId);
    assert.equal(stream.events.length, 1);
    const meta = stream.events[0].metadata!;
    assert.deepEqual([meta.clientId, meta.userId, meta.tenant], [SUBJECT, "billing-svc", "acme"]);
    assert.equal((await booking.getBooking({ bookingId })).status, "booked");
  });

  for (const httpVersion of ["2", "1.1"] as const) {
    it(`HTTP/${httpVersion} Connect over TLS with the client certificate: accepted, metadata names CN=billing-svc; a forged subject header is ignored`, async (t) => {
      if (skipped(t)) return;
      const client = createClient(
        BookingService,
        httpVersion === "2"
          ? createConnectTransport({ httpVersion, baseUrl: httpsUrl, nodeOptions: { ca: pki.caCert, cert: pki.client.cert, key: pki.client.key } })
          : createConnectTransport({ httpVersion, baseUrl: httpsUrl, nodeOptions: { ca: pki.caCert, cert: pki.client.cert, key: pki.client.key } }),
      );
      const bookingId = newId("M");
      const booked = await client.bookRoom(bookRoomRequest(bookingId));
      assert.equal(booked.status, CommandStatus.ACCEPTED);
      const forged = { "x-switchyard-client-subject": "CN=admin,O=other-tenant" };
      const paid = await client.recordPayment({ bookingId, paymentId: "P1", amount: "50.00", currency: "EUR", paidAt, requestId: newId("pay") }, { headers: forged });
      assert.equal(paid.status, CommandStatus.ACCEPTED);

      const stream = await streamOf(bookingId);
      assert.deepEqual(
        stream.events.map((e) => [e.type, e.metadata?.clientId, e.metadata?.userId, e.metadata?.tenant]),
        [
          ["RoomBooked", SUBJECT, "billing-svc", "acme"],
          ["PaymentRecorded", SUBJECT, "billing-svc", "acme"],
        ],
      );
    });
  }

  it("without a client certificate nothing runs, on either port (and cleartext is refused too)", async (t) => {
    if (skipped(t)) return;
    const attempts: Array<[string, (bookingId: string) => Promise<unknown>]> = [
      ["gRPC, server-authenticated TLS only", (id) => {
        const client = grpcJsClientWith(BookingService, server.grpcAddress, grpc.credentials.createSsl(pki.caCert));
        return client.bookRoom(bookRoomRequest(id)).finally(() => client.close());
      }],
      ["gRPC, cleartext", (id) => {
        const client = grpcJsClient(BookingService, server.grpcAddress);
        return client.bookRoom(bookRoomRequest(id)).finally(() => client.close());
      }],
      ["HTTP/2 Connect, no client certificate", (id) =>
        createClient(BookingService, createConnectTransport({ httpVersion: "2", baseUrl: httpsUrl, nodeOptions: { ca: pki.caCert } })).bookRoom(bookRoomRequest(id))],
      ["HTTP/1.1 Connect, no client certificate", (id) =>
        createClient(BookingService, createConnectTransport({ httpVersion: "1.1", baseUrl: httpsUrl, nodeOptions: { ca: pki.caCert } })).bookRoom(bookRoomRequest(id))],
      ["HTTP/1.1 Connect, cleartext", (id) =>
        createClient(BookingService, createConnectTransport({ httpVersion: "1.1", baseUrl: `http://127.0.0.1:${server.httpPort}` })).bookRoom(bookRoomRequest(id))],
    ];
    for (const [label, attempt] of attempts) {
      const bookingId = newId("M-nocert");
      const outcome = await outcomeOf(attempt(bookingId));
      assert.notEqual(outcome.code, 0, `${label}: the call succeeded`);
      assert.equal(outcome.reason, undefined, `${label}: refused at the connection, before any handler answered (${outcome.message})`);
      await assertNeverBooked(bookingId, label);
    }
  });

  it('a trusted certificate whose CN spells ",O=acme" does not get into tenant acme, on either port', async (t) => {
    if (skipped(t)) return;
    const acmeBooking = newId("M-acme");
    await booking.bookRoom(bookRoomRequest(acmeBooking));
    const acmeEvents = (await streamOf(acmeBooking)).events.map((e) => e.id);

    for (const [certName, material, tenant, clientId] of [
      ["O=mallory, CN=svc,O=acme", pki.crafted, "mallory", "O=mallory,CN=svc\\,O=acme"],
      ["CN=svc,O=acme (no O)", pki.craftedNoOrg, "default", "CN=svc\\,O=acme"],
    ] as const) {
      const grpcClient = grpcJsClientWith(BookingService, server.grpcAddress, grpc.credentials.createSsl(pki.caCert, material.key, material.cert));
      const grpcEvents = grpcJsClientWith(EventStoreService, server.grpcAddress, grpc.credentials.createSsl(pki.caCert, material.key, material.cert));
      const httpClient = createClient(
        BookingService,
        createConnectTransport({ httpVersion: "2", baseUrl: httpsUrl, nodeOptions: { ca: pki.caCert, cert: material.cert, key: material.key } }),
      );
      try {
        for (const [port, client] of [["gRPC", grpcClient], ["HTTP/2", httpClient]] as const) {
          const label = `${certName} over ${port}`;
          const pay = await outcomeOf(
            client.recordPayment({ bookingId: acmeBooking, paymentId: newId("P"), amount: "1.00", currency: "EUR", paidAt, requestId: newId("pay") }),
          );
          assert.equal(pay.code, grpc.status.NOT_FOUND, `${label}: paid into acme's booking (${pay.reason}: ${pay.message})`);
          assert.equal((await outcomeOf(client.getBooking({ bookingId: acmeBooking }))).code, grpc.status.NOT_FOUND, `${label}: read acme's booking`);

          // The caller's own command lands in the organization its certificate really names.
          const own = newId("M-own");
          assert.equal((await client.bookRoom(bookRoomRequest(own))).status, CommandStatus.ACCEPTED);
          const meta = (await grpcEvents.readStream({ streamId: `booking-${own}` })).events[0]?.metadata;
          assert.equal(meta?.tenant, tenant, `${label}: tenant`);
          assert.equal(meta?.userId, "svc,O=acme", `${label}: user is the whole common name`);
          assert.equal(meta?.clientId, clientId, `${label}: the client id escapes the comma inside the common name`);
          assert.equal((await streamOf(own)).events.length, 0, `${label}: the booking is not in acme's tenant`);
        }
      } finally {
        grpcClient.close();
        grpcEvents.close();
      }
    }
    assert.deepEqual((await streamOf(acmeBooking)).events.map((e) => e.id), acmeEvents, "acme's booking unchanged");
  });

  it("a client certificate from another CA (same subject) is refused on either port; nothing runs", async (t) => {
    if (skipped(t)) return;
    const rogue = { ca: pki.caCert, cert: pki.rogue.cert, key: pki.rogue.key };
    const attempts: Array<[string, (bookingId: string) => Promise<unknown>]> = [
      ["gRPC", (id) => {
        const client = grpcJsClientWith(BookingService, server.grpcAddress, grpc.credentials.createSsl(rogue.ca, rogue.key, rogue.cert));
        return client.bookRoom(bookRoomRequest(id)).finally(() => client.close());
      }],
      ["HTTP/2 Connect", (id) => createClient(BookingService, createConnectTransport({ httpVersion: "2", baseUrl: httpsUrl, nodeOptions: rogue })).bookRoom(bookRoomRequest(id))],
      ["HTTP/1.1 Connect", (id) => createClient(BookingService, createConnectTransport({ httpVersion: "1.1", baseUrl: httpsUrl, nodeOptions: rogue })).bookRoom(bookRoomRequest(id))],
    ];
    for (const [label, attempt] of attempts) {
      const bookingId = newId("M-rogue");
      const outcome = await outcomeOf(attempt(bookingId));
      assert.notEqual(outcome.code, 0, `${label}: the call with a foreign CA's certificate succeeded`);
      assert.equal(outcome.reason, undefined, `${label}: refused at the connection, before any handler answered (${outcome.message})`);
      await assertNeverBooked(bookingId, label);
    }
  });
});
