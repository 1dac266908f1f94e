import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { startHttpServer, type HttpServer } from "../../src/edge/http-server.js";
import { invalidJsonFields, unknownJsonFields } from "../../src/edge/unknown-json-fields.js";
import { BookingService, CancelBookingRequestSchema, RecordPaymentRequestSchema, type CancelBookingRequest } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandResultSchema, ExecuteRequestSchema } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { ScheduleCommandRequestSchema } from "../../src/gen/switchyard/command/v1/schedules_pb.js";

describe("unknownJsonFields", () => {
  it("names each key that is no field, by the path the caller wrote, and lists the message's fields", () => {
    const found = unknownJsonFields(CancelBookingRequestSchema, { bookingId: "E5", reason: "x", expectedRevison: "99", colour: 1 });
    assert.deepEqual(found.map((v) => v.field), ["expectedRevison", "colour"]);
    assert.match(found[0].description, /"expectedRevison" is not a field of booking\.v1\.CancelBookingRequest \(its fields: bookingId, reason, requestId, expectedRevision\)/);
  });

  it("accepts the proto names beside the JSON names, and nulls", () => {
    assert.deepEqual(unknownJsonFields(CancelBookingRequestSchema, { booking_id: "E5", expected_revision: null, requestId: "r" }), []);
  });

  it("walks into messages and lists of messages, but not into well-known types (a Struct takes any key)", () => {
    const found = unknownJsonFields(CommandResultSchema, { events: [{ id: "e1" }, { id: "e2", typo: 1 }], response: { anything: { goes: true } } });
    assert.deepEqual(found.map((v) => v.field), ["events[1].typo"]);
    assert.deepEqual(unknownJsonFields(ExecuteRequestSchema, { commandType: "t", payload: { whatever: 1 } }), []);
  });
});

describe("invalidJsonFields", () => {
  it("names each member that does not decode by its proto name, well-known types included, with the decoder's reason", () => {
    const found = invalidJsonFields(RecordPaymentRequestSchema, { bookingId: "B1", paymentId: 7, amount: "1.00", paidAt: "2026-12-01" });
    assert.deepEqual(found.map((v) => v.field), ["payment_id", "paid_at"]);
    assert.match(found[1].description, /Timestamp/);
    assert.deepEqual(invalidJsonFields(ExecuteRequestSchema, { commandType: "x", payload: [1, 2], expectedRevision: "-1" }).map((v) => v.field), ["payload", "expected_revision"]);
  });

  it("names none when every member decodes alone: the caller reports the decoder's reason (two members of one oneof)", () => {
    assert.deepEqual(invalidJsonFields(ScheduleCommandRequestSchema, { commandType: "x", delay: "5s", runAt: "2030-01-01T00:00:00Z" }), []);
  });
});

describe("connect adapter: unknown fields", () => {
  let server: HttpServer;
  let url: string;
  const seen: CancelBookingRequest[] = [];

  before(async () => {
    const routes = (router: ConnectRouter) =>
      router.service(BookingService, {
        async cancelBooking(request) {
          seen.push(request);
          return create(CommandResultSchema, { commandType: "booking.CancelBooking", aggregateId: request.bookingId });
        },
      });
    server = await startHttpServer({ host: "127.0.0.1", port: 0, routes });
    url = `http://127.0.0.1:${server.port}/booking.v1.BookingService/CancelBooking`;
  });

  after(() => server.close(500));

  const post = (contentType: string, body: BodyInit) => fetch(url, { method: "POST", headers: { "content-type": contentType }, body });

  it("refuses a Connect JSON body with a misspelt field as INVALID_ARGUMENT naming it, before the handler runs", async () => {
    seen.length = 0;
    const res = await post("application/json", JSON.stringify({ bookingId: "E5", reason: "x", expectedRevison: "99" }));
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; message: string; details: Array<{ type: string; debug: unknown }> };
    assert.equal(body.code, "invalid_argument");
    assert.match(body.message, /^expectedRevison: "expectedRevison" is not a field of booking\.v1\.CancelBookingRequest/);
    const badRequest = body.details.find((d) => d.type === "google.rpc.BadRequest")?.debug as { fieldViolations: Array<{ field: string }> };
    assert.deepEqual(badRequest.fieldViolations.map((v) => v.field), ["expectedRevison"]);
    assert.deepEqual(body.details.find((d) => d.type === "google.rpc.ErrorInfo")?.debug, { reason: "VALIDATION_FAILED", domain: "switchyard.dev" });
    assert.equal(seen.length, 0);
  });

  it("refuses a Connect JSON body whose field does not decode as INVALID_ARGUMENT naming it, with ErrorInfo and BadRequest", async () => {
    seen.length = 0;
    const res = await post("application/json", JSON.stringify({ bookingId: 5, reason: "x", expectedRevision: "-1" }));
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; message: string; details: Array<{ type: string; debug: unknown }> };
    assert.equal(body.code, "invalid_argument");
    const badRequest = body.details.find((d) => d.type === "google.rpc.BadRequest")?.debug as { fieldViolations: Array<{ field: string }> };
    assert.deepEqual(badRequest.fieldViolations.map((v) => v.field), ["booking_id", "expected_revision"], body.message);
    assert.deepEqual(body.details.find((d) => d.type === "google.rpc.ErrorInfo")?.debug, { reason: "VALIDATION_FAILED", domain: "switchyard.dev" });
    assert.equal(seen.length, 0);
  });

  it("refuses them in gRPC-Web JSON too", async () => {
    const json = Buffer.from(JSON.stringify({ bookingId: "E5", colour: "red" }));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, json.length]), json]);
    const res = await post("application/grpc-web+json", frame);
    const trailers = res.headers.get("grpc-status") === null ? Buffer.from(await res.arrayBuffer()).toString("latin1") : "";
    assert.equal(res.headers.get("grpc-status") ?? /grpc-status:\s*(\d+)/i.exec(trailers)?.[1], "3", trailers);
    assert.match(decodeURIComponent(res.headers.get("grpc-message") ?? /grpc-message:\s*([^\r\n]*)/i.exec(trailers)?.[1] ?? ""), /"colour" is not a field/);
  });

  it("accepts a well-spelt JSON body, with proto names too", async () => {
    const res = await post("application/json", JSON.stringify({ booking_id: "E5", reason: "x", expectedRevision: "7" }));
    assert.equal(res.status, 200);
    assert.equal(seen.at(-1)?.expectedRevision, 7n);
  });

  it("keeps accepting unknown fields in binary protobuf, for wire compatibility with newer clients", async () => {
    const known = toBinary(CancelBookingRequestSchema, create(CancelBookingRequestSchema, { bookingId: "E6", reason: "x" }));
    const unknownField = Buffer.from([0x98, 0x06, 0x01]); // field 99, varint 1: a field this build does not know
    const res = await post("application/proto", Buffer.concat([known, unknownField]));
    assert.equal(res.status, 200);
    assert.equal(seen.at(-1)?.bookingId, "E6");
  });
});
