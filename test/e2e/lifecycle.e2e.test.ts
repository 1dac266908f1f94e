import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { grpcJsClient, watchHealth, type GrpcFailure } from "../support/grpc-client.js";
import { eventually } from "../support/eventually.js";
import { reliabilityRow } from "../support/reliability.js";
import { startServerProcess } from "../support/server-process.js";

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, "..", "..", "src", "main.ts");

describe("start-up and shutdown", () => {
  for (const [name, value] of [
    ["GRPC_PORT", "abc"],
    ["HTTP_PORT", "70000"],
    ["LOG_LEVEL", "loud"],
    ["DATABASE_URL", "mysql://x"],
    ["DATABASE_URL", "postgres://"],
    ["SQLITE_SYNCHRONOUS", "OFF"],
    ["REQUEST_RETENTION_S", "-1"],
    ["REQUEST_RETENTION_S", "1d"],
    ["STATE_CACHE_MB", "-1"],
  ] as const) {
    it(`refuses to start with ${name}=${value} and names it`, async () => {
      const failure = await run(process.execPath, ["--import", "tsx", MAIN], { env: { ...process.env, [name]: value }, timeout: 20_000 }).then(
        () => assert.fail("the server started"),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(failure.code, 2);
      assert.match(failure.stderr, new RegExp(name));
    });
  }

  it("drains on SIGTERM under load: health NOT_SERVING, new calls UNAVAILABLE, acknowledged commands durable, exit 0", async (t) => {
    const server = await startServerProcess({ SHUTDOWN_TIMEOUT_MS: "5000" });
    const booking = grpcJsClient(BookingService, server.grpcAddress);
    const health = watchHealth(server.grpcAddress);
    const statuses = health.statuses;

    const acknowledged: string[] = [];
    const outcomes = new Map<string, number>();
    let signalled = false;
    let afterSignal = 0;
    const worker = async () => {
      for (let i = 0; i < 10_000; i++) {
        const bookingId = `B-${randomUUID().slice(0, 12)}`;
        const sentAfterSignal = signalled;
        try {
          await booking.bookRoom({ bookingId, roomId: bookingId, guestId: "G", checkIn: "2030-01-01", checkOut: "2030-01-02", amount: "1.00", currency: "EUR", requestId: bookingId });
          acknowledged.push(bookingId);
          outcomes.set("OK", (outcomes.get("OK") ?? 0) + 1);
        } catch (error) {
          const code = (error as GrpcFailure).code;
          outcomes.set(grpc.status[code], (outcomes.get(grpc.status[code]) ?? 0) + 1);
          if (sentAfterSignal) afterSignal++;
          if (code !== grpc.status.UNAVAILABLE) throw error;
          return;
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    // Signal once the load runs: a fresh server's first calls (and this client's) are slow,
    // and on a loaded machine took longer than a fixed 500 ms once.
    for (const end = Date.now() + 10_000; acknowledged.length < 16 && Date.now() < end; ) await sleep(20);
    if (acknowledged.length < 16) {
      await server.dispose(); // the workers end on UNAVAILABLE instead of loading the rest of the suite
      await Promise.allSettled(workers);
      booking.close();
      health.stop();
      assert.fail(`the load did not start within 10 s (${acknowledged.length} acknowledged)`);
    }
    await sleep(300);
    signalled = true;
    const exitCode = await server.stop("SIGTERM");
    await Promise.all(workers);
    booking.close();
    health.stop();

    assert.equal(exitCode, 0);
    assert.ok(afterSignal > 0, `calls after the signal were refused: ${JSON.stringify([...outcomes])}`);
    assert.deepEqual([...outcomes.keys()].filter((k) => k !== "OK" && k !== "UNAVAILABLE"), []);
    assert.deepEqual(statuses.slice(0, 1), [HealthCheckResponse_ServingStatus.SERVING]);
    assert.ok(statuses.includes(HealthCheckResponse_ServingStatus.NOT_SERVING), `health went NOT_SERVING: ${statuses}`);
    const logs = server.logs.map((l) => l.msg);
    assert.ok(logs.includes("drained") && logs.includes("stopped"));

    const again = await startServerProcess({ DATABASE_URL: `file:${server.databasePath}` });
    const events = grpcJsClient(EventStoreService, again.grpcAddress);
    try {
      const all = [];
      for (let from = 1n; ; ) {
        const page = await events.readAll({ fromPosition: from, maxCount: 10_000 });
        all.push(...page.events);
        if (page.events.length === 0) break;
        from = page.nextPosition;
      }
      const stored = new Set(all.map((e) => e.streamId));
      const lost = acknowledged.filter((id) => !stored.has(`booking-${id}`));
      const tried = [...outcomes.values()].reduce((a, b) => a + b, 0);
      t.diagnostic(reliabilityRow({ scenario: "SIGTERM under load (16 clients)", callsTried: tried, failures: 0, dataLost: lost.length, note: `${acknowledged.length} acknowledged, ${afterSignal} refused UNAVAILABLE` }));
      assert.deepEqual(lost, [], "every acknowledged booking survived the shutdown");
    } finally {
      events.close();
      await again.dispose();
      await server.dispose();
    }
  });

  it("answers a retry from the stored result within REQUEST_RETENTION_S, and runs it again after", async () => {
    const server = await startServerProcess({ REQUEST_RETENTION_S: "2" });
    const booking = grpcJsClient(BookingService, server.grpcAddress);
    try {
      const bookingId = `B-${randomUUID().slice(0, 12)}`;
      const request = { bookingId, roomId: bookingId, guestId: "G", checkIn: "2030-01-01", checkOut: "2030-01-02", amount: "1.00", currency: "EUR", requestId: randomUUID() };
      const first = await booking.bookRoom(request);
      const retry = await booking.bookRoom(request);
      assert.equal(retry.commandId, first.commandId, "inside the window: the first answer, replayed");
      assert.equal(retry.replayed, true);

      // The record expires after 2 s and the writer prunes once a second: gone within ~3 s.
      let late: GrpcFailure | undefined;
      await eventually("after the window, the retry running again instead of being replayed", async () => {
        late = await booking.bookRoom(request).then(
          () => undefined,
          (error: GrpcFailure) => error,
        );
        return late !== undefined;
      }, 10_000);
      assert.equal(late!.code, grpc.status.ALREADY_EXISTS, "the domain refuses a second booking of the same id");
    } finally {
      booking.close();
      await server.dispose();
    }
  });
});
