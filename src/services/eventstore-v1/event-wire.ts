import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { RecordedEvent } from "../../kernel/events.js";

/**
 * A SubscribeResponse carrying one event, in protobuf's binary form, written straight from
 * the stored event: a catch-up sends one per event, and building the message with `create`
 * and encoding it with `toBinary` cost ~14 µs of the ~80 an event took (bench/README.md,
 * Subscriptions). The bytes are protobuf-es's own, field for field: a property test compares
 * them with `toBinary` over random events. A field added to Event or EventMetadata must be
 * added here too; the test fails until it is.
 */
export function encodeEventResponse(event: RecordedEvent): Uint8Array {
  const w = writer;
  try {
    w.tag(1, WireType.LengthDelimited).fork();
    writeEvent(w, event);
    w.join();
    return w.finish(); // a copy of the bytes written; the writer keeps its buffer for the next event
  } catch (error) {
    w.finish(); // back to empty for the next event
    throw error;
  }
}

/** One writer for every event: a new one grows its buffer from 128 bytes by doubling for each event. */
const writer = new BinaryWriter();

/** The data as Event.data holds it: an object as it is, anything else as {value: …}. */
export function dataObjectOf(data: unknown): JsonObject {
  return typeof data === "object" && data !== null && !Array.isArray(data) ? (data as JsonObject) : { value: data as JsonValue };
}

function writeEvent(w: BinaryWriter, event: RecordedEvent): void {
  string(w, 1, event.id);
  string(w, 2, event.streamId);
  if (event.revision !== 0) w.tag(3, WireType.Varint).uint64(event.revision);
  if (event.position !== 0) w.tag(4, WireType.Varint).uint64(event.position);
  string(w, 5, event.type);
  w.tag(6, WireType.LengthDelimited).fork();
  writeStruct(w, dataObjectOf(event.data));
  w.join();
  const m = event.metadata;
  w.tag(7, WireType.LengthDelimited).fork();
  string(w, 1, m.commandId);
  string(w, 2, m.commandType);
  string(w, 3, m.requestId);
  string(w, 4, m.correlationId);
  string(w, 5, m.causationId);
  string(w, 6, m.userId ?? "");
  string(w, 7, m.tenant);
  string(w, 8, m.clientId ?? "");
  const timestamp = timestampFromDate(new Date(m.timestamp));
  w.tag(9, WireType.LengthDelimited).fork();
  if (timestamp.seconds !== 0n) w.tag(1, WireType.Varint).int64(timestamp.seconds);
  if (timestamp.nanos !== 0) w.tag(2, WireType.Varint).int32(timestamp.nanos);
  w.join();
  string(w, 10, m.commandCausationId ?? "");
  string(w, 11, m.traceparent ?? "");
  w.join();
}

/** A proto3 string field: left out when empty. */
function string(w: BinaryWriter, field: number, text: string): void {
  if (text !== "") w.tag(field, WireType.LengthDelimited).string(text);
}

/** google.protobuf.Struct: one map entry {1: key, 2: Value} per member. */
function writeStruct(w: BinaryWriter, object: JsonObject): void {
  for (const key of Object.keys(object)) {
    w.tag(1, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(key);
    w.tag(2, WireType.LengthDelimited).fork();
    writeValue(w, object[key]);
    w.join();
    w.join();
  }
}

/** google.protobuf.Value: exactly one of null (1), number (2), string (3), bool (4), struct (5), list (6). */
function writeValue(w: BinaryWriter, value: JsonValue): void {
  switch (typeof value) {
    case "number":
      w.tag(2, WireType.Bit64).double(value);
      return;
    case "string":
      w.tag(3, WireType.LengthDelimited).string(value);
      return;
    case "boolean":
      w.tag(4, WireType.Varint).bool(value);
      return;
    case "object":
      if (value === null) {
        w.tag(1, WireType.Varint).int32(0);
        return;
      }
      if (Array.isArray(value)) {
        w.tag(6, WireType.LengthDelimited).fork();
        for (const item of value) {
          w.tag(1, WireType.LengthDelimited).fork();
          writeValue(w, item);
          w.join();
        }
        w.join();
        return;
      }
      w.tag(5, WireType.LengthDelimited).fork();
      writeStruct(w, value);
      w.join();
  }
}
