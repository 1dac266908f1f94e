import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { causedBy, clockOf, dataText, metadataEntries, noteEvent, timeOf, type StreamSummary } from "../../src/explorer/event-view.js";
import { EventSchema, type Event } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";

const COMMAND_ID = "01a24eb7-5016-7142-a109-f493ce42b290";

function event(streamId: string, revision: number, globalPosition: number, type = "PaymentRecorded"): Event {
  return create(EventSchema, {
    id: `e-${globalPosition}`,
    streamId,
    revision: BigInt(revision),
    globalPosition: BigInt(globalPosition),
    type,
    data: { bookingId: "B1", amount: { amountMinor: 4000, currency: "EUR" } },
    metadata: {
      commandId: COMMAND_ID,
      commandType: "booking.RecordPayment",
      requestId: "r-1",
      correlationId: "r-1",
      causationId: COMMAND_ID,
      userId: "front-desk",
      tenant: "acme",
      timestamp: timestampFromDate(new Date("2026-12-07T10:11:12.345Z")),
    },
  });
}

describe("explorer: how an event is shown", () => {
  it("names the command that wrote it by type and the random end of its id", () => {
    assert.equal(causedBy(event("booking-B1", 2, 5)), "booking.RecordPayment …ce42b290");
    assert.equal(causedBy(create(EventSchema, { streamId: "s", metadata: { commandType: "booking.BookRoom" } })), "booking.BookRoom");
    assert.equal(causedBy(create(EventSchema, { streamId: "s" })), "");
  });

  it("lists the metadata a reader follows a cause by, leaving out what is empty", () => {
    assert.deepEqual(metadataEntries(event("booking-B1", 2, 5)), [
      ["command", "booking.RecordPayment"],
      ["command id", COMMAND_ID],
      ["request id", "r-1"],
      ["correlation id", "r-1"],
      ["causation id", COMMAND_ID],
      ["user", "front-desk"],
      ["tenant", "acme"],
      ["time", "2026-12-07T10:11:12Z"],
    ]);
    assert.deepEqual(metadataEntries(create(EventSchema, {})), []);
  });

  it("writes times without fractions, and the tail's as the time of day", () => {
    assert.equal(timeOf(event("s", 1, 1)), "2026-12-07T10:11:12Z");
    assert.equal(clockOf(event("s", 1, 1)), "10:11:12Z");
    assert.equal(timeOf(create(EventSchema, {})), "");
  });

  it("shows the data as indented JSON", () => {
    assert.equal(dataText(event("s", 1, 1)), JSON.stringify({ bookingId: "B1", amount: { amountMinor: 4000, currency: "EUR" } }, null, 2));
  });
});

describe("explorer: the streams list", () => {
  it("keeps each stream's latest event, whichever order pages and the live feed deliver them in", () => {
    const streams = new Map<string, StreamSummary>();
    for (const e of [event("booking-B1", 3, 9), event("booking-B2", 1, 4, "RoomBooked"), event("booking-B1", 1, 1, "RoomBooked"), event("booking-B1", 2, 5), event("booking-B1", 3, 9)]) {
      noteEvent(streams, e);
    }
    assert.deepEqual([...streams.values()].map((s) => [s.streamId, s.revision, s.lastType, s.lastPosition]), [
      ["booking-B1", 3n, "PaymentRecorded", 9n],
      ["booking-B2", 1n, "RoomBooked", 4n],
    ]);
  });
});
