import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SpanKind } from "@opentelemetry/api";
import { durationFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pino from "pino";
import { loadConfig } from "../../src/config.js";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { createTracing } from "../../src/observability/tracing.js";
import { traceExportUrl } from "../../src/observability/trace-export.js";
import { startService, type RunningService } from "../../src/service.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload, paymentPayload } from "../support/booking-app.js";
import { eventually } from "../support/eventually.js";
import { grpcJsClient } from "../support/grpc-client.js";

// One provider for the whole file, as the SDK is meant to be used: registered globally with
// its async-hooks context manager, spans kept in memory.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
after(() => provider.shutdown());

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;

/** A booking the service's real clock takes: its stay is years ahead. */
const future = (bookingId: string) => ({ ...bookRoomPayload(bookingId), checkIn: "2030-06-01", checkOut: "2030-06-04" });

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

/** The spans of one trace as "name <- parent name" lines, parents before children, siblings by start. */
function tree(spans: readonly ReadableSpan[]): string[] {
  const byId = new Map(spans.map((s) => [idOf(s), s]));
  const depth = (s: ReadableSpan): number => {
    const parent = byId.get(parentOf(s) ?? "");
    return parent ? 1 + depth(parent) : 0;
  };
  return [...spans]
    .sort((a, b) => depth(a) - depth(b) || a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
    .map((s) => `${s.name} <- ${byId.get(parentOf(s) ?? "")?.name ?? parentOf(s) ?? "root"}`);
}

describe("traces of a command", () => {
  let service: RunningService;
  before(async () => {
    service = await startService(loadConfig({ GRPC_PORT: "0", HTTP_PORT: "0", DATABASE_URL: "file::memory:" }), pino({ level: "silent" }));
  });
  after(() => service.stop());

  it("over gRPC: the RPC's span continues the caller's traceparent, the command's span nests in it with load, decide and append, and the events keep the trace", async () => {
    exporter.reset();
    const booking = grpcJsClient(BookingService, `127.0.0.1:${service.grpcPort}`);
    await booking.bookRoom(future("T1"), { traceparent: TRACEPARENT });
    booking.close();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
    assert.deepEqual(tree(spans), [
      `booking.v1.BookingService/BookRoom <- ${CALLER_SPAN}`,
      "command booking.BookRoom <- booking.v1.BookingService/BookRoom",
      "load <- command booking.BookRoom",
      "decide <- command booking.BookRoom",
      "append <- command booking.BookRoom",
    ]);
    const [rpc, command] = [spans.find((s) => s.kind === SpanKind.SERVER)!, spans.find((s) => s.name.startsWith("command"))!];
    assert.equal(rpc.attributes["rpc.system"], "grpc");
    assert.equal(rpc.attributes["rpc.grpc.status_code"], 0);
    assert.deepEqual(
      ["type", "outcome", "retries", "replayed"].map((k) => command.attributes[`switchyard.command.${k}`]),
      ["booking.BookRoom", "accepted", 0, false],
    );
    assert.equal(command.attributes["switchyard.aggregate.id"], "T1");
    const [event] = await fetchEvents(service, "booking-T1");
    assert.equal(event.metadata.traceparent, `00-${TRACE_ID}-${idOf(command)}-01`);
  });

  it("over the HTTP port (Connect): the same tree under the caller's traceparent header", async () => {
    exporter.reset();
    const client = createClient(BookingService, createConnectTransport({ baseUrl: `http://127.0.0.1:${service.httpPort}`, httpVersion: "1.1" }));
    await client.bookRoom(future("T2"), { headers: { traceparent: TRACEPARENT } });
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
    assert.deepEqual(tree(spans).slice(0, 2), [`booking.v1.BookingService/BookRoom <- ${CALLER_SPAN}`, "command booking.BookRoom <- booking.v1.BookingService/BookRoom"]);
    assert.equal(spans.find((s) => s.kind === SpanKind.SERVER)!.attributes["rpc.system"], "connect_rpc");
    assert.equal(spans.length, 5);
  });

  it("without a caller's traceparent: a new trace, still kept in the events", async () => {
    exporter.reset();
    const booking = grpcJsClient(BookingService, `127.0.0.1:${service.grpcPort}`);
    await booking.bookRoom(future("T3"));
    booking.close();
    const rpc = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
    assert.equal(parentOf(rpc), undefined);
    const [event] = await fetchEvents(service, "booking-T3");
    assert.match(event.metadata.traceparent ?? "", new RegExp(`^00-${rpc.spanContext().traceId}-[0-9a-f]{16}-01$`));
  });

  it("across a reaction: the command a reaction issues for an event joins the trace of the command that wrote the event, under its span", async () => {
    exporter.reset();
    const booking = grpcJsClient(BookingService, `127.0.0.1:${service.grpcPort}`);
    await booking.bookRoom(future("T6"));
    await booking.recordPayment({ bookingId: "T6", paymentId: "P1", amount: "300.00", currency: "EUR", paidAt: timestampNow() }, { traceparent: TRACEPARENT });
    booking.close();
    const inTrace = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
    // The reaction runs after the payment's answer: wait for its command's span, and for the RPC's, which ends once the answer is sent.
    await eventually("the confirmation's span and the payment's RPC span", async () => ["command booking.ConfirmBooking", "booking.v1.BookingService/RecordPayment"].every((name) => inTrace().some((s) => s.name === name)));
    const spans = inTrace();
    assert.deepEqual(tree(spans), [
      `booking.v1.BookingService/RecordPayment <- ${CALLER_SPAN}`,
      "command booking.RecordPayment <- booking.v1.BookingService/RecordPayment",
      "load <- command booking.RecordPayment",
      "decide <- command booking.RecordPayment",
      "append <- command booking.RecordPayment",
      "command booking.ConfirmBooking <- command booking.RecordPayment",
      "load <- command booking.ConfirmBooking",
      "decide <- command booking.ConfirmBooking",
      "append <- command booking.ConfirmBooking",
    ]);
    const payment = spans.find((s) => s.name === "command booking.RecordPayment")!;
    const confirmation = spans.find((s) => s.name === "command booking.ConfirmBooking")!;
    const attributes = (span: ReadableSpan) => ["command.type", "aggregate.id", "command.outcome"].map((k) => span.attributes[`switchyard.${k}`]);
    assert.deepEqual(attributes(payment), ["booking.RecordPayment", "T6", "accepted"]);
    assert.deepEqual(attributes(confirmation), ["booking.ConfirmBooking", "T6", "accepted"]);
    assert.ok(spans.filter((s) => s.name === "append").every((s) => s.attributes["switchyard.aggregate.id"] === "T6"));
    // The chain runs through the events: BookingFullyPaid names the payment's span, which is the confirmation's parent, and BookingConfirmed names the confirmation's.
    const events = await fetchEvents(service, "booking-T6");
    assert.deepEqual(
      events.filter((e) => e.type !== "RoomBooked").map((e) => [e.type, e.metadata.traceparent]),
      [
        ["PaymentRecorded", `00-${TRACE_ID}-${idOf(payment)}-01`],
        ["BookingFullyPaid", `00-${TRACE_ID}-${idOf(payment)}-01`],
        ["BookingConfirmed", `00-${TRACE_ID}-${idOf(confirmation)}-01`],
      ],
    );
    assert.equal(parentOf(confirmation), idOf(payment));
  });
});

describe("traces of a command run in process", () => {
  it("continue the trace a command's metadata names, as a reaction's command does its event's (across a reaction in the service: above)", async () => {
    exporter.reset();
    const app = bookingApp({ hooks: createTracing().pipelineHooks });
    const result = await app.commands.bookRoom(bookRoomPayload("T4"), { traceparent: TRACEPARENT });
    assert.equal(result.status, "accepted");
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(tree(spans), [
      `command booking.BookRoom <- ${CALLER_SPAN}`,
      "load <- command booking.BookRoom",
      "decide <- command booking.BookRoom",
      "append <- command booking.BookRoom",
    ]);
    assert.ok(spans.every((s) => s.spanContext().traceId === TRACE_ID));
    await app.close();
  });
});

describe("traces of a command that conflicts", () => {
  it("count the retry on the command's span, with load, decide and append for each round", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-trace-"));
    try {
      const path = join(dir, "events.db");
      const app = bookingApp({ store: openSqliteStore({ path }), hooks: createTracing().pipelineHooks });
      const other = bookingApp({ store: openSqliteStore({ path }) });
      await app.commands.bookRoom(bookRoomPayload("T5"));
      await other.commands.recordPayment(paymentPayload("T5", "P1"));
      exporter.reset();
      assert.equal((await app.commands.recordPayment(paymentPayload("T5", "P2"))).status, "accepted");
      const spans = exporter.getFinishedSpans();
      const command = spans.find((s) => s.name === "command booking.RecordPayment")!;
      assert.equal(command.attributes["switchyard.command.retries"], 1);
      assert.deepEqual(
        tree(spans).filter((line) => !line.startsWith("command")),
        ["load", "decide", "append", "load", "decide", "append"].map((stage) => `${stage} <- command booking.RecordPayment`),
      );
      await Promise.all([app.close(), other.close()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("traces of a scheduled command", () => {
  let service: RunningService;
  before(async () => {
    service = await startService(
      loadConfig({ GRPC_PORT: "0", HTTP_PORT: "0", DATABASE_URL: "file::memory:", UNPAID_BOOKING_TTL: "1s" }),
      pino({ level: "silent" }),
    );
  });
  after(() => service.stop());

  it("continue the trace of the command that scheduled them, under its span, whatever command last woke the scheduler", async () => {
    exporter.reset();
    const other = "5cf92f3577b34da6a3ce929d0e0e4737";
    const booking = grpcJsClient(BookingService, `127.0.0.1:${service.grpcPort}`);
    await booking.bookRoom(future("T7"), { traceparent: TRACEPARENT });
    // A booking in another trace a moment later: its commit wakes the scheduler again, in its own context.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await booking.bookRoom(future("T8"), { traceparent: `00-${other}-${CALLER_SPAN}-01` });
    booking.close();
    const named = (name: string, traceId: string) => exporter.getFinishedSpans().find((s) => s.name === name && s.spanContext().traceId === traceId);
    // Neither booking is paid: each one's CancelUnpaidBooking runs a second later, from the scheduler.
    await eventually(
      "both scheduled cancellations' spans",
      async () => exporter.getFinishedSpans().filter((s) => s.name === "command booking.CancelUnpaidBooking").length === 2,
      10_000,
    );
    for (const [id, traceId] of [["T7", TRACE_ID], ["T8", other]]) {
      const booked = named("command booking.BookRoom", traceId);
      const cancelled = named("command booking.CancelUnpaidBooking", traceId);
      assert.ok(booked && cancelled, `${id}: the booking and its cancellation in trace ${traceId}`);
      assert.equal(parentOf(cancelled), idOf(booked), `${id}: the cancellation's parent is the booking's command span`);
      assert.equal(cancelled.attributes["switchyard.aggregate.id"], id);
      const events = await fetchEvents(service, `booking-${id}`);
      assert.deepEqual(
        events.map((e) => [e.type, e.metadata.traceparent]),
        [
          ["RoomBooked", `00-${traceId}-${idOf(booked)}-01`],
          ["BookingCancelled", `00-${traceId}-${idOf(cancelled)}-01`],
        ],
      );
    }
  });

  it("a command scheduled through ScheduleCommand continues the trace of that call, under its RPC span", async () => {
    exporter.reset();
    const booking = grpcJsClient(BookingService, `127.0.0.1:${service.grpcPort}`);
    await booking.bookRoom(future("T9"));
    booking.close();
    const { CommandService } = await import("../../src/gen/switchyard/command/v1/command_pb.js");
    const commands = grpcJsClient(CommandService, `127.0.0.1:${service.grpcPort}`);
    await commands.scheduleCommand(
      { commandType: "booking.CancelBooking", aggregateId: "T9", payload: { reason: "plans changed" }, requestId: "trace-s-1", when: { case: "delay", value: durationFromMs(200) } },
      { traceparent: TRACEPARENT },
    );
    commands.close();
    const inTrace = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
    await eventually("the scheduled CancelBooking's span", async () => inTrace().some((s) => s.name === "command booking.CancelBooking"));
    const rpc = inTrace().find((s) => s.name === "switchyard.command.v1.CommandService/ScheduleCommand")!;
    const cancelled = inTrace().find((s) => s.name === "command booking.CancelBooking")!;
    assert.equal(parentOf(rpc), CALLER_SPAN);
    assert.equal(parentOf(cancelled), idOf(rpc));
  });
});

describe("trace export settings", () => {
  const none = { OTEL_TRACES_EXPORTER: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined, OTEL_SDK_DISABLED: false };
  it("export nothing by default, over OTLP when the standard variables ask", () => {
    assert.equal(traceExportUrl(none), undefined);
    assert.equal(traceExportUrl({ ...none, OTEL_TRACES_EXPORTER: "otlp" }), "http://localhost:4318/v1/traces");
    assert.equal(traceExportUrl({ ...none, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }), "http://collector:4318/v1/traces");
    assert.equal(traceExportUrl({ ...none, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/custom" }), "http://collector:4318/custom");
    assert.equal(traceExportUrl({ ...none, OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }), undefined);
    assert.equal(traceExportUrl({ ...none, OTEL_TRACES_EXPORTER: "otlp", OTEL_SDK_DISABLED: true }), undefined);
  });
});

/** A stream's events through the service's own store-backed read API. */
async function fetchEvents(service: RunningService, streamId: string) {
  const { EventStoreService } = await import("../../src/gen/switchyard/eventstore/v1/eventstore_pb.js");
  const client = grpcJsClient(EventStoreService, `127.0.0.1:${service.grpcPort}`);
  try {
    const { events } = await client.readStream({ streamId });
    return events.map((e) => ({ type: e.type, metadata: (e.metadata ?? {}) as { traceparent?: string } }));
  } finally {
    client.close();
  }
}
