import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Worker } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { loadConfig } from "../../src/config.js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { startService } from "../../src/service.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { grpcJsClient, watchHealth, type GrpcFailure } from "../support/grpc-client.js";
import { reliabilityRow } from "../support/reliability.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const dir = mkdtempSync(join(tmpdir(), "switchyard-writer-restart-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("the store's writer thread stops under load", () => {
  it("health goes NOT_SERVING and back, calls out at it fail UNAVAILABLE, retries with the same request id land once, nothing acknowledged is lost", async (t) => {
    const path = join(dir, "events.db");
    const threads: Worker[] = [];
    const store = openSqliteStore({ path, onWriterThread: (thread) => threads.push(thread) });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const config = loadConfig({ GRPC_PORT: "0", HTTP_PORT: "0", HOST: "127.0.0.1", DATABASE_URL: `file:${path}` });
    const service = await startService(config, logger, { store });
    const address = `127.0.0.1:${service.grpcPort}`;
    const booking = grpcJsClient(BookingService, address);
    const health = watchHealth(address);
    const statuses = health.statuses;

    const acknowledged: string[] = [];
    const unexpected: string[] = [];
    let refused = 0;
    let tried = 0;
    // The clients run until the second replacement is up.
    let stopAt = Number.POSITIVE_INFINITY;
    const client = async () => {
      while (Date.now() < stopAt) {
        const bookingId = `B-${randomUUID().slice(0, 12)}`;
        // A refused call is retried with the same request id until it is answered.
        for (;;) {
          tried++;
          try {
            await booking.bookRoom({ bookingId, roomId: bookingId, guestId: "G", checkIn: "2030-01-01", checkOut: "2030-01-02", amount: "1.00", currency: "EUR", requestId: bookingId });
            acknowledged.push(bookingId);
            break;
          } catch (error) {
            const failure = error as GrpcFailure;
            if (failure.code !== grpc.status.UNAVAILABLE || !/writer thread stopped/.test(failure.message)) {
              unexpected.push(`${failure.code}: ${failure.message}`);
              break;
            }
            refused++;
            await sleep(20);
          }
        }
      }
    };
    try {
      const clients = Array.from({ length: 8 }, client);
      // Stop the writer thread twice while the clients run, the second time once the first
      // replacement is up (a slow machine may take a while to start a thread).
      const recovery = async (times: number) => {
        const done = () => lines.filter((l) => l.msg === "event store writes again").length === times && statuses.at(-1) === HealthCheckResponse_ServingStatus.SERVING;
        for (const giveUp = Date.now() + 10_000; !done() && Date.now() < giveUp; ) await sleep(20);
      };
      await sleep(500);
      await threads[0].terminate();
      await recovery(1);
      await sleep(300);
      await threads[1].terminate();
      await recovery(2);
      await sleep(200);
      stopAt = 0;
      await Promise.all(clients);

      assert.deepEqual(unexpected, [], "every call was answered, or refused UNAVAILABLE naming the writer thread");
      assert.ok(acknowledged.length > 0, "commands were acknowledged");
      assert.ok(refused > 0, "some calls were refused while the writer was down, so the retries with the same request id were exercised");
      assert.equal(threads.length, 3, "each stopped thread was replaced");
      let lost = 0;
      for (const bookingId of acknowledged) {
        const events = await store.readStream("default", `booking-${bookingId}`);
        if (events.length !== 1) lost++;
      }
      assert.equal(lost, 0, "each acknowledged booking is stored exactly once");
      const changes = statuses.filter((s, i) => i === 0 || s !== statuses[i - 1]);
      assert.deepEqual(
        changes,
        [HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING, HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING, HealthCheckResponse_ServingStatus.SERVING],
        "health watched through both stops",
      );
      const down = lines.filter((l) => l.msg === "event store cannot write");
      assert.equal(down.length, 2, "each stop is logged as an error");
      assert.ok(down.every((l) => l.level === 50 && /writer thread stopped \(it exited with code \d+\) and is being restarted/.test(String(l.reason))));
      assert.equal(lines.filter((l) => l.msg === "event store writes again").length, 2);
      t.diagnostic(
        reliabilityRow({
          scenario: "store writer thread stopped twice under load (8 clients)",
          callsTried: tried,
          failures: unexpected.length,
          dataLost: lost,
          note: `${acknowledged.length} acknowledged, ${refused} refused UNAVAILABLE and retried`,
        }),
      );
    } finally {
      stopAt = 0;
      health.stop();
      booking.close();
      await service.stop();
    }
  });
});
