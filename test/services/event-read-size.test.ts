import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import type { RecordedEvent } from "../../src/kernel/events.js";
import { ReadAllResponseSchema } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { eventToProto, largestReadableEvent } from "../../src/services/eventstore-v1/handlers.js";
import { eventChars } from "../support/event-chars.js";

/** The bytes of a ReadAll response holding this one event, with the largest next_position there can be. */
function responseBytes(event: RecordedEvent): number {
  const response = create(ReadAllResponseSchema, { events: [eventToProto(event)], nextPosition: 2n ** 64n - 1n });
  return toBinary(ReadAllResponseSchema, response).length;
}

const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }));
const metadata = fc.record({
  commandId: text,
  commandType: text,
  requestId: text,
  correlationId: text,
  causationId: text,
  userId: fc.option(text, { nil: undefined }),
  tenant: text,
  clientId: fc.option(text, { nil: undefined }),
  timestamp: fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => d.toISOString()),
});
const recordedEvent = (data: fc.Arbitrary<unknown>) =>
  fc.record({
    id: text,
    streamId: text,
    revision: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    position: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    type: text,
    data,
    metadata,
  });

/** Data that costs the read most per character: a list of one-digit numbers, 2 characters and 11 bytes each. */
function digits(count: number) {
  return { d: Array.from({ length: count }, (_, i) => i % 10) };
}

describe("the largest event a read can return (largestReadableEvent)", () => {
  it("bounds the read's bytes by the characters the pipeline counts, for any JSON data and metadata", () => {
    // The claim behind largestReadableEvent: 6 bytes a character, 272 bytes besides.
    const bound = (event: RecordedEvent) => 6 * eventChars(event) + 272;
    fc.assert(
      fc.property(recordedEvent(fc.jsonValue({ maxDepth: 6 })), (event) => {
        assert.ok(responseBytes(event) <= bound(event), `${responseBytes(event)} bytes for ${eventChars(event)} characters`);
      }),
      { numRuns: 2000 },
    );
    for (const data of [digits(1), digits(50_000), [[[[[[[[[[0]]]]]]]]]], { "": { "": { "": {} } } }, "\u0001".repeat(1000), "€".repeat(1000), null, true]) {
      const event = { id: "e", streamId: "s", revision: 1, position: 1, type: "T", data, metadata: { commandId: "", commandType: "", requestId: "", correlationId: "", causationId: "", tenant: "", timestamp: "2026-01-01T00:00:00.000Z" } };
      assert.ok(responseBytes(event) <= bound(event), `${JSON.stringify(data).slice(0, 40)}: ${responseBytes(event)} bytes for ${eventChars(event)} characters`);
    }
  });

  it("keeps the costliest event at the limit within MAX_MESSAGE_BYTES, for small and default limits", () => {
    for (const maxMessageBytes of [8 * 1024, 64 * 1024, 4 * 1024 * 1024]) {
      const limit = largestReadableEvent(maxMessageBytes);
      const metadata = { commandId: "c".repeat(36), commandType: "booking.CancelBooking", requestId: "r".repeat(36), correlationId: "r".repeat(36), causationId: "c".repeat(36), tenant: "default", timestamp: "2026-01-01T00:00:00.000Z" };
      const base = { id: "e".repeat(36), streamId: "booking-B-1", revision: 2 ** 53 - 1, position: 2 ** 53 - 1, type: "Noted", metadata };
      // As many digits as the limit allows, the worst case for its size: {"d":[0,…,9]} is 7 + 2n characters.
      const rest = eventChars({ ...base, data: {} }) - 2;
      const event = { ...base, data: digits(Math.floor((limit - rest - 7) / 2)) };
      assert.ok(eventChars(event) <= limit && eventChars(event) >= limit - 1, `the event fills the limit: ${eventChars(event)} of ${limit}`);
      assert.ok(responseBytes(event) <= maxMessageBytes, `${responseBytes(event)} bytes at MAX_MESSAGE_BYTES ${maxMessageBytes}`);
    }
  });
});
