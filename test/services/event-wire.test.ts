import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { create, toBinary } from "@bufbuild/protobuf";
import { SubscribeResponseSchema } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import type { RecordedEvent } from "../../src/kernel/events.js";
import { encodeEventResponse } from "../../src/services/eventstore-v1/event-wire.js";
import { eventToProto } from "../../src/services/eventstore-v1/handlers.js";

const text = fc.string({ unit: "binary", maxLength: 20 });
const recordedEvent: fc.Arbitrary<RecordedEvent> = fc.record({
  id: text,
  streamId: text,
  revision: fc.nat(),
  position: fc.maxSafeNat(),
  type: text,
  data: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown),
  metadata: fc.record(
    {
      commandId: text,
      commandType: text,
      requestId: text,
      correlationId: text,
      causationId: text,
      commandCausationId: text,
      traceparent: text,
      userId: text,
      tenant: text,
      clientId: text,
      timestamp: fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2200-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()),
    },
    { requiredKeys: ["commandId", "commandType", "requestId", "correlationId", "causationId", "tenant", "timestamp"] },
  ),
});

describe("a SubscribeResponse's event, written by hand", () => {
  it("is byte for byte what protobuf-es writes for the same event", () => {
    fc.assert(
      fc.property(recordedEvent, (event) => {
        const expected = toBinary(SubscribeResponseSchema, create(SubscribeResponseSchema, { message: { case: "event", value: eventToProto(event) } }));
        assert.deepEqual(Buffer.from(encodeEventResponse(event)), Buffer.from(expected));
      }),
      { numRuns: 2000 },
    );
  });

  // One writer serves every event: what it wrote for one must not show in the next.
  it("is the same whatever was written before it, even an event that failed partway", () => {
    fc.assert(
      fc.property(recordedEvent, recordedEvent, (first, second) => {
        const firstBytes = Buffer.from(encodeEventResponse(first));
        const firstResult = encodeEventResponse(first);
        const broken = { ...first, metadata: { ...first.metadata, timestamp: "not a time" } };
        assert.throws(() => encodeEventResponse(broken));
        const secondBytes = Buffer.from(encodeEventResponse(second));
        const expected = toBinary(SubscribeResponseSchema, create(SubscribeResponseSchema, { message: { case: "event", value: eventToProto(second) } }));
        assert.deepEqual(secondBytes, Buffer.from(expected));
        assert.deepEqual(Buffer.from(firstResult), firstBytes, "an earlier result changed");
      }),
      { numRuns: 300 },
    );
  });
});
