import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pino from "pino";
import { loadConfig } from "../../src/config.js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandService, CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { confirmPaidBookings, guestStaysProjection } from "../../src/domain/booking/index.js";
import { TRUSTED_LOCAL } from "../../src/kernel/identity.js";
import { checkpointLag } from "../../src/observability/checkpoint-lag.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { consumerNameOf } from "../../src/read/read-service.js";
import { startService, type RunningService } from "../../src/service.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { hs256Token } from "../support/auth-helpers.js";
import { bookingApp, paymentPayload } from "../support/booking-app.js";
import { eventually } from "../support/eventually.js";
import { grpcJsClient, failing } from "../support/grpc-client.js";

const quiet = pino({ level: "silent" });
const dir = mkdtempSync(join(tmpdir(), "switchyard-metrics-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Prometheus text → value by "name{label="value",…}" with the labels sorted, so the order prom-client writes them in does not matter. */
function parse(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels = (match[2] ?? "").match(/\w+="(?:[^"\\]|\\.)*"/g) ?? [];
    values.set(`${match[1]}{${labels.sort().join(",")}}`, Number(match[3]));
  }
  return values;
}

/** A sample's key as `parse` writes it. */
function key(name: string, labels: Record<string, string> = {}): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(",")}}`;
}

async function scrape(service: RunningService, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string | null }> {
  const response = await fetch(`http://127.0.0.1:${service.httpPort}/metrics`, { headers });
  return { status: response.status, text: await response.text(), type: response.headers.get("content-type") };
}

describe("GET /metrics", () => {
  const path = join(dir, "events.db");
  let service: RunningService;
  before(async () => {
    // The scheduler is off so that a schedule whose time has come stays due for the scrape to count.
    service = await startService(loadConfig({ GRPC_PORT: "0", HTTP_PORT: "0", DATABASE_URL: `file:${path}`, SCHEDULER: "off" }), quiet);
  });
  after(() => service.stop());

  it("counts each RPC, command, event, replay, conflict, retry, dry run and batch by the right amount", async () => {
    const booking = grpcJsClient(BookingService, `127.0.0.1:${service.grpcPort}`);
    const commands = createClient(CommandService, createConnectTransport({ baseUrl: `http://127.0.0.1:${service.httpPort}`, httpVersion: "1.1" }));
    const book = { bookingId: "M1", roomId: "R1", guestId: "G1", checkIn: "2030-06-01", checkOut: "2030-06-03", price: "300.00", currency: "EUR" };
    // Warm up: every series below exists before the first scrape, so a delta is a difference of two numbers.
    await booking.bookRoom({ ...book, bookingId: "M0", roomId: "R0" });
    const before = parse((await scrape(service)).text);

    await booking.bookRoom({ ...book, requestId: "req-m1" });
    await booking.bookRoom({ ...book, requestId: "req-m1" }); // a replay
    assert.equal((await failing(booking.bookRoom(book))).code, 6); // ALREADY_EXISTS
    // Another writer on the same file moves the booking on: the service's cached state conflicts once, then it retries.
    const other = bookingApp({ store: openSqliteStore({ path }) });
    assert.equal((await other.commands.recordPayment(paymentPayload("M1", "P1"))).status, "accepted");
    await other.close();
    await booking.recordPayment({ bookingId: "M1", paymentId: "P2", amount: "100.00", currency: "EUR", paidAt: { seconds: 1_700_000_000n, nanos: 0 } });
    // A dry run over the HTTP port: counted as an RPC and a dry run, not as a command, and nothing appended.
    const dry = await commands.dryRun({ commandType: "booking.CancelBooking", aggregateId: "M1", payload: { reason: "plans changed" } });
    assert.equal(dry.status, CommandStatus.ACCEPTED);
    assert.deepEqual(dry.events.map((e) => [e.type, e.globalPosition]), [["BookingCancelled", 0n], ["NightsReleased", 0n]]);
    booking.close();

    const scraped = await scrape(service);
    assert.equal(scraped.status, 200);
    assert.match(scraped.type ?? "", /^text\/plain; version=0\.0\.4/);
    const now = parse(scraped.text);
    const moved = (name: string, labels: Record<string, string> = {}) => (now.get(key(name, labels)) ?? 0) - (before.get(key(name, labels)) ?? 0);
    const rpc = (service: string, method: string, code: string) => ({ service, method, code });

    assert.equal(moved("switchyard_rpcs_total", rpc("booking.v1.BookingService", "BookRoom", "OK")), 2);
    assert.equal(moved("switchyard_rpcs_total", rpc("booking.v1.BookingService", "BookRoom", "AlreadyExists")), 1);
    assert.equal(moved("switchyard_rpcs_total", rpc("booking.v1.BookingService", "RecordPayment", "OK")), 1);
    assert.equal(moved("switchyard_rpcs_total", rpc("switchyard.command.v1.CommandService", "DryRun", "OK")), 1);
    assert.equal(moved("switchyard_rpc_duration_seconds_count", rpc("booking.v1.BookingService", "BookRoom", "OK")), 2);
    assert.equal(moved("switchyard_commands_total", { command_type: "booking.BookRoom", outcome: "accepted" }), 2);
    assert.equal(moved("switchyard_commands_total", { command_type: "booking.BookRoom", outcome: "already_exists" }), 1);
    assert.equal(moved("switchyard_commands_total", { command_type: "booking.RecordPayment", outcome: "accepted" }), 1);
    assert.equal(moved("switchyard_commands_total", { command_type: "booking.CancelBooking", outcome: "accepted" }), 0);
    assert.equal(moved("switchyard_dry_runs_total", { command_type: "booking.CancelBooking", outcome: "accepted" }), 1);
    assert.equal(moved("switchyard_command_replays_total", { command_type: "booking.BookRoom" }), 1);
    // RoomBooked, and NightsReserved on the room's stream.
    assert.equal(moved("switchyard_events_appended_total", { command_type: "booking.BookRoom" }), 2);
    assert.equal(moved("switchyard_events_appended_total", { command_type: "booking.RecordPayment" }), 1);
    assert.equal(moved("switchyard_events_appended_total", { command_type: "booking.CancelBooking" }), 0);
    assert.equal(moved("switchyard_revision_conflicts_total", { command_type: "booking.RecordPayment" }), 1);
    assert.equal(moved("switchyard_command_retries_total", { command_type: "booking.RecordPayment", reason: "conflict" }), 1);
    // The new booking, the payment twice (before and after the conflict) and the dry run; a booking that exists is answered before deciding.
    assert.equal(moved("switchyard_command_stage_duration_seconds_count", { stage: "decide" }), 4);
    assert.equal(moved("switchyard_command_stage_duration_seconds_count", { stage: "validate" }), 5);
    // Appends that reached the store: the booking, the payment's conflicting and its second round, and the already_exists answer's (which writes no event).
    assert.ok(moved("switchyard_store_batch_appends_sum") >= 3, scraped.text);
    assert.ok(moved("switchyard_store_append_duration_seconds_count") >= 1);
    assert.equal(moved("switchyard_store_append_duration_seconds_count"), moved("switchyard_store_batch_appends_count"));
    assert.ok((now.get(key("switchyard_process_cpu_user_seconds_total")) ?? 0) > 0, "process metrics are there");
    assert.ok(now.has(key("switchyard_nodejs_heap_size_used_bytes")));
  });

  it("keeps a caller's traceparent in the events even with no tracer provider registered (this file registers none)", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const booking = grpcJsClient(BookingService, `127.0.0.1:${service.grpcPort}`);
    const events = grpcJsClient(EventStoreService, `127.0.0.1:${service.grpcPort}`);
    try {
      await booking.bookRoom({ bookingId: "M9", roomId: "R9", guestId: "G1", checkIn: "2030-06-01", checkOut: "2030-06-03", price: "300.00", currency: "EUR" }, { traceparent });
      const [event] = (await events.readStream({ streamId: "booking-M9" })).events;
      assert.equal(event.metadata?.traceparent, traceparent);
    } finally {
      booking.close();
      events.close();
    }
  });

  it("counts schedules due and overdue and dead letters, and shows each consumer's lag until it caught up", async () => {
    const booking = grpcJsClient(BookingService, `127.0.0.1:${service.grpcPort}`);
    const commands = createClient(CommandService, createConnectTransport({ baseUrl: `http://127.0.0.1:${service.httpPort}`, httpVersion: "1.1" }));
    const other = openSqliteStore({ path });
    try {
      const schedules = ["switchyard_schedules_due", "switchyard_schedules_overdue", "switchyard_dead_letters"] as const;
      const counted = async () => {
        const now = parse((await scrape(service)).text);
        return schedules.map((name) => now.get(key(name)) ?? NaN);
      };
      const start = await counted();
      assert.ok(start.every((n) => n >= 0), "the three gauges are there");
      const moved = async () => (await counted()).map((n, i) => n - start[i]);

      // BookRoom schedules the unpaid booking's cancellation 48 h on: pending, but neither due nor overdue.
      const dueIn49Hours = async () => (await other.schedules!.counts(Date.now() + 49 * 3600_000)).due;
      const dueLater = await dueIn49Hours();
      await booking.bookRoom({ bookingId: "S1", roomId: "RS1", guestId: "G7", checkIn: "2030-07-01", checkOut: "2030-07-03", price: "300.00", currency: "EUR" });
      assert.deepEqual(await moved(), [0, 0, 0]);
      assert.equal((await dueIn49Hours()) - dueLater, 1, "its cancellation is due in 48 h");

      // A command scheduled an hour ago, with the scheduler off: due and overdue until something runs it.
      const past = await commands.scheduleCommand({ commandType: "booking.CancelBooking", aggregateId: "S1", payload: { reason: "plans changed" }, requestId: "sched-s1", when: { case: "runAt", value: timestampFromMs(Date.now() - 3600_000) } });
      assert.deepEqual(await moved(), [1, 1, 0]);
      await commands.cancelScheduledCommand({ scheduleId: past.scheduleId });
      assert.deepEqual(await moved(), [0, 0, 0]);

      // A dead letter counts until it is discarded.
      const dead = { id: randomUUID(), commandType: "booking.CancelBooking", aggregateId: "S1", payload: { reason: "plans changed" }, runAt: Date.now(), identity: TRUSTED_LOCAL, correlationId: "c", causationId: "c", createdAt: Date.now() };
      assert.equal(await other.schedules!.addDeadLetter(TRUSTED_LOCAL.tenant, dead, "the reaction chain loops", Date.now()), true);
      assert.deepEqual(await moved(), [0, 0, 1]);
      await commands.discardDeadLetter({ scheduleId: dead.id });
      assert.deepEqual(await moved(), [0, 0, 0]);

      // The async projection and the reaction, each under its consumer name, reach the head once their runners caught up.
      const consumers = [consumerNameOf(guestStaysProjection), confirmPaidBookings.name];
      const first = parse((await scrape(service)).text);
      for (const consumer of consumers) {
        assert.ok(first.has(key("switchyard_consumer_lag_events", { consumer })), `lag events of ${consumer}`);
        assert.ok(first.has(key("switchyard_consumer_lag_seconds", { consumer })), `lag seconds of ${consumer}`);
      }
      for (const consumer of consumers) {
        await eventually(`${consumer} caught up`, async () => parse((await scrape(service)).text).get(key("switchyard_consumer_lag_events", { consumer })) === 0);
      }
      const caughtUp = parse((await scrape(service)).text);
      assert.equal(caughtUp.get(key("switchyard_consumer_lag_events", { consumer: consumerNameOf(guestStaysProjection) })), 0);
      assert.equal(caughtUp.get(key("switchyard_consumer_lag_seconds", { consumer: consumerNameOf(guestStaysProjection) })), 0);
    } finally {
      booking.close();
      await other.close();
    }
  });

  it("shows open subscriptions while they are open", async () => {
    const events = createClient(EventStoreService, createConnectTransport({ baseUrl: `http://127.0.0.1:${service.httpPort}`, httpVersion: "2" }));
    const controller = new AbortController();
    const stream = events.subscribe({ start: { case: "afterPosition", value: 0n } }, { signal: controller.signal })[Symbol.asyncIterator]();
    for (;;) {
      const next = await stream.next();
      assert.ok(!next.done);
      if (next.value.message.case === "caughtUp") break;
    }
    const open = parse((await scrape(service)).text);
    assert.equal(open.get(key("switchyard_subscriptions_open")), 1);
    assert.equal(open.get(key("switchyard_subscription_lag_events")), 0);
    assert.equal(open.get(key("switchyard_subscription_lag_seconds")), 0);
    controller.abort();
    await stream.next().catch(() => undefined);
    for (let i = 0; i < 100 && parse((await scrape(service)).text).get(key("switchyard_subscriptions_open")) !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(parse((await scrape(service)).text).get(key("switchyard_subscriptions_open")), 0);
  });
});

describe("GET /metrics with authentication on", () => {
  const secret = "a-test-secret-of-at-least-32-characters!";
  const auth = { AUTH_MODE: "jwt", AUTH_JWT_SECRET: secret, GRPC_PORT: "0", HTTP_PORT: "0", DATABASE_URL: "file::memory:" };

  it("needs the API's credentials, and answers without them when METRICS_PUBLIC=true", async () => {
    const guarded = await startService(loadConfig(auth), quiet);
    const open = await startService(loadConfig({ ...auth, METRICS_PUBLIC: "true" }), quiet);
    try {
      const refused = await scrape(guarded);
      assert.equal(refused.status, 401);
      assert.match(refused.text, /bearer token is required/);
      assert.equal((await scrape(guarded, { authorization: "Bearer nonsense" })).status, 401);
      const token = await hs256Token(secret, { sub: "prometheus", tenant: "ops" });
      const allowed = await scrape(guarded, { authorization: `Bearer ${token}` });
      assert.equal(allowed.status, 200);
      assert.match(allowed.text, /^# HELP switchyard_/m);
      assert.equal((await scrape(open)).status, 200);
    } finally {
      await Promise.all([guarded.stop(), open.stop()]);
    }
  });
});

describe("metrics registered by other parts", () => {
  it("read a consumer's lag and a gauge at each scrape, and refuse a name without the prefix", async () => {
    const metrics = createMetrics({ commandTypes: [] });
    let lag = { events: 12, seconds: 3.5 };
    const remove = metrics.registerConsumerLag("projection:bookings", () => lag);
    metrics.gauge({ name: "switchyard_schedules_due", help: "Schedules due.", labelNames: ["tenant"], read: async () => [{ labels: { tenant: "t1" }, value: 4 }] });
    let text = parse((await metrics.scrape()).body);
    assert.equal(text.get(key("switchyard_consumer_lag_events", { consumer: "projection:bookings" })), 12);
    assert.equal(text.get(key("switchyard_consumer_lag_seconds", { consumer: "projection:bookings" })), 3.5);
    assert.equal(text.get(key("switchyard_schedules_due", { tenant: "t1" })), 4);
    lag = { events: 0, seconds: 0 };
    assert.equal(parse((await metrics.scrape()).body).get(key("switchyard_consumer_lag_events", { consumer: "projection:bookings" })), 0);
    remove();
    text = parse((await metrics.scrape()).body);
    assert.equal(text.has(key("switchyard_consumer_lag_events", { consumer: "projection:bookings" })), false);
    assert.throws(() => metrics.gauge({ name: "dead_letters", help: "x", read: () => 0 }), /must start with switchyard_/);
  });

  it("answer a scrape when a gauge's or a consumer's read fails, with NaN for what could not be read", async () => {
    const metrics = createMetrics({ commandTypes: [] });
    const unreachable = () => Promise.reject(new Error("the database cannot be reached"));
    metrics.registerConsumerLag("booking.some-reaction", unreachable);
    metrics.registerConsumerLag("projection:fine@1", () => ({ events: 2, seconds: 1 }));
    metrics.watchSchedules(unreachable);
    metrics.gauge({ name: "switchyard_per_tenant", help: "x", labelNames: ["tenant"], read: unreachable });
    const text = parse((await metrics.scrape()).body);
    assert.ok(Number.isNaN(text.get(key("switchyard_consumer_lag_events", { consumer: "booking.some-reaction" }))));
    assert.ok(Number.isNaN(text.get(key("switchyard_consumer_lag_seconds", { consumer: "booking.some-reaction" }))));
    assert.equal(text.get(key("switchyard_consumer_lag_events", { consumer: "projection:fine@1" })), 2);
    for (const name of ["switchyard_schedules_due", "switchyard_schedules_overdue", "switchyard_dead_letters"]) assert.ok(Number.isNaN(text.get(key(name))), name);
    assert.equal([...text.keys()].some((k) => k.startsWith("switchyard_per_tenant{")), false);
  });

  it("measure a checkpointed consumer's lag as the head minus its checkpoint, and its age as that of the first event after it", async () => {
    const appendedAt = Date.parse("2030-01-01T00:00:00Z");
    const clock = () => new Date(appendedAt + 7500);
    let checkpoint = 4;
    const asked: number[] = [];
    const store = {
      headPosition: async () => 10,
      consumerCheckpoint: async (name: string) => (assert.equal(name, "projection:x@1"), checkpoint),
      readAllTenants: async ({ fromPosition }: { fromPosition: number }) => {
        asked.push(fromPosition);
        return [{ tenant: "t", size: 1, event: { id: "e", streamId: "s", revision: 1, position: fromPosition, type: "E", data: {}, metadata: { commandId: "c", commandType: "x.C", requestId: "r", correlationId: "r", causationId: "c", tenant: "t", timestamp: new Date(appendedAt).toISOString() } } }];
      },
    };
    const lag = checkpointLag(store, "projection:x@1", clock);
    assert.deepEqual(await lag(), { events: 6, seconds: 7.5 });
    assert.deepEqual(asked, [5]);
    checkpoint = 10;
    assert.deepEqual(await lag(), { events: 0, seconds: 0 });
    assert.deepEqual(asked, [5], "no event read when caught up");
  });
});
