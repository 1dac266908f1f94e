import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { eventually } from "../support/eventually.js";
import { failing, grpcJsClient, watchHealth, type GrpcJsClient } from "../support/grpc-client.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";
import { startTestPostgres, type TestPostgres } from "../support/postgres.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, "..", "..", "src", "main.ts");
const paidAt = timestampFromDate(new Date("2026-01-15T10:00:00Z"));
const started = await startTestPostgres();

if ("skip" in started) {
  console.log(`# PostgreSQL replica tests skipped: ${started.skip}`);
  it("two replicas on one PostgreSQL database", { skip: started.skip }, () => {});
} else {
  describe("two service replicas on one PostgreSQL database, over real ports", () => {
    const postgres: TestPostgres = started.postgres;
    let replicas: ServerProcess[] = [];
    let bookings: GrpcJsClient<typeof BookingService>[] = [];
    let events: GrpcJsClient<typeof EventStoreService>;

    before(async () => {
      // The server trusts any password: this one is here to be kept out of the logs.
      const url = (await postgres.database("replicas_e2e")).replace("postgres@", "postgres:not-for-logs@");
      // Started together: both migrate the new database at once, which one of them does.
      replicas = await Promise.all([startServerProcess({ DATABASE_URL: url }), startServerProcess({ DATABASE_URL: url })]);
      bookings = replicas.map((r) => grpcJsClient(BookingService, r.grpcAddress));
      events = grpcJsClient(EventStoreService, replicas[1].grpcAddress);
    });
    after(async () => {
      for (const client of [...bookings, events]) client?.close();
      await Promise.all(replicas.map((r) => r.dispose()));
      await postgres.stop();
    });

    it("takes payments on one booking through both replicas at once: every one applied once, revisions gapless", async () => {
      const bookingId = newId("B");
      const booked = await bookings[0].bookRoom(bookRoomRequest(bookingId, { price: "100000.00" }));
      assert.equal(booked.status, CommandStatus.ACCEPTED);

      // Each replica caches the booking's state; the other's appends make it stale, which the
      // revision guard catches and the pipeline retries on fresh state. Under a loaded machine a
      // call can lose its race more often than the pipeline's retry budget allows: it is then
      // ABORTED, having written nothing, and the client sends it again with the same request
      // id, as the error model tells clients to.
      let abortedAndSentAgain = 0;
      const pay = async (i: number) => {
        const request = { bookingId, paymentId: `P${i}`, amount: "1.00", currency: "EUR", paidAt, requestId: newId("r") };
        for (;;) {
          try {
            return await bookings[i % 2].recordPayment(request);
          } catch (error) {
            if ((error as grpc.ServiceError).code !== grpc.status.ABORTED || abortedAndSentAgain >= 40) throw error;
            abortedAndSentAgain++;
          }
        }
      };
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => pay(i)));
      if (abortedAndSentAgain > 0) console.log(`# ${abortedAndSentAgain} payments were ABORTED after the pipeline's retries and sent again`);
      assert.deepEqual(results.map((r) => r.status), Array(40).fill(CommandStatus.ACCEPTED));
      assert.deepEqual(results.map((r) => Number(r.revision)).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 2));

      const state = await bookings[1].getBooking({ bookingId });
      assert.deepEqual([state.paid, state.revision], ["40.00", 41n]);
      const stream = await events.readStream({ streamId: `booking-${bookingId}` });
      assert.deepEqual(stream.events.map((e) => Number(e.revision)), Array.from({ length: 41 }, (_, i) => i + 1));
      const paymentIds = stream.events.slice(1).map((e) => (e.data as { paymentId: string }).paymentId);
      assert.equal(new Set(paymentIds).size, 40);
    });

    it("replays a request id sent again to the other replica with the first answer, and writes nothing", async () => {
      const bookingId = newId("B");
      await bookings[0].bookRoom(bookRoomRequest(bookingId));
      const request = { bookingId, paymentId: "P1", amount: "10.00", currency: "EUR", paidAt, requestId: newId("r") };
      const first = await bookings[0].recordPayment(request);
      const again = await bookings[1].recordPayment(request);
      assert.deepEqual([first.status, first.replayed], [CommandStatus.ACCEPTED, false]);
      assert.ok(first.globalPosition > 0n);
      assert.deepEqual([again.status, again.replayed, again.revision, again.globalPosition], [CommandStatus.ACCEPTED, true, first.revision, first.globalPosition]);
      assert.equal((await bookings[1].getBooking({ bookingId })).revision, 2n);
    });

    it("logs which database it serves without the password", () => {
      for (const replica of replicas) {
        const listening = replica.logs.find((line) => line.msg === "switchyard listening");
        assert.match(String(listening?.database), /^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/replicas_e2e/);
        assert.ok(!JSON.stringify(replica.logs).includes("not-for-logs"));
      }
    });

    it("refuses to start when the database cannot be reached, and says so", async () => {
      const failure = await run(process.execPath, ["--import", "tsx", MAIN], {
        env: { ...process.env, GRPC_PORT: "0", HTTP_PORT: "0", DATABASE_URL: "postgres://switchyard:secret@127.0.0.1:1/events" },
        timeout: 20_000,
      }).then(
        () => assert.fail("the server started"),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      assert.equal(failure.code, 1);
      assert.match(failure.stdout, /start-up failed: PostgreSQL cannot be reached/);
      assert.doesNotMatch(failure.stdout + failure.stderr, /secret/, "the password is not written to the log");
    });

    // Last: it stops the database both replicas use.
    it("turns NOT_SERVING while the database is down, answers UNAVAILABLE saying so, and serves again once it is back", { skip: postgres.outage ? false : "TEST_POSTGRES_URL names a server this test cannot stop" }, async () => {
      const { SERVING, NOT_SERVING } = HealthCheckResponse_ServingStatus;
      const bookingId = newId("B");
      await bookings[0].bookRoom(bookRoomRequest(bookingId));
      const health = watchHealth(replicas[0].grpcAddress);
      let down = false;
      try {
        await eventually("health SERVING", async () => health.statuses.at(-1) === SERVING);
        postgres.outage!.stop();
        down = true;
        // No command needed: the replica notices its idle connections cut.
        await eventually("health NOT_SERVING", async () => health.statuses.at(-1) === NOT_SERVING);
        const refused = await failing(bookings[0].recordPayment({ bookingId, paymentId: "P-down", amount: "1.00", currency: "EUR", paidAt, requestId: newId("r") }));
        assert.equal(refused.code, 14, refused.message); // UNAVAILABLE
        assert.equal(refused.errorInfo?.reason, "STORE_UNAVAILABLE", `${refused.message}; replica 0 exit code ${replicas[0].child.exitCode}, last log lines: ${JSON.stringify(replicas[0].logs.slice(-3))}, stderr: ${replicas[0].stderr.slice(-2000)}`);
        assert.match(refused.message, /PostgreSQL cannot be reached|connection to PostgreSQL was lost/);
        const errorLine = replicas[0].logs.find((line) => line.msg === "event store cannot write");
        assert.match(String(errorLine?.reason), /PostgreSQL/);

        postgres.outage!.start();
        down = false;
        await eventually("health SERVING again", async () => health.statuses.at(-1) === SERVING);
        const paid = await bookings[0].recordPayment({ bookingId, paymentId: "P-up", amount: "1.00", currency: "EUR", paidAt, requestId: newId("r") });
        assert.equal(paid.status, CommandStatus.ACCEPTED);
        assert.equal(paid.revision, 2n, "the payment refused while the database was down wrote nothing");
      } finally {
        if (down) postgres.outage!.start();
        health.stop();
      }
    });
  });
}
