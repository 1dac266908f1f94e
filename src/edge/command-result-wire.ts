import { toBinary, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import {
  CommandResultSchema,
  type CommandResult,
  type ValidationError,
  type WrittenEvent,
} from "../gen/switchyard/command/v1/command_pb.js";

/**
 * CommandResult in protobuf's binary form, written by hand: it answers every command RPC, and
 * protobuf-es's generic writer spends 5–7 µs on a RecordPayment's (a BinaryWriter with a chunk
 * list per nested message and a Uint8Array per string, joined at the end) where this takes
 * 2.3–2.8 µs (bench/HISTORY.md, sixth round). It measures the message first and writes it into
 * one pooled Buffer of exactly that size.
 *
 * The bytes are protobuf-es's own, field for field (a property test compares them with
 * `toBinary` over random results). Anything this writer does not expect (unknown fields, a
 * uint64 outside its range) goes to `toBinary`, so odd input behaves exactly as the library's.
 * A field added to CommandResult must be added here too: the test fails until it is.
 */
export function encodeCommandResult(result: CommandResult): Uint8Array {
  if (result.$unknown !== undefined || !inRange(result)) return toBinary(CommandResultSchema, result);
  const lengths: number[] = [];
  const out = new Writer(Buffer.allocUnsafe(resultSize(result, lengths)), lengths);
  writeResult(out, result);
  return out.bytes;
}

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;

const MAX_UINT64 = 2n ** 64n - 1n;

function inRange(r: CommandResult): boolean {
  if (!isUint64(r.revision) || !isUint64(r.globalPosition)) return false;
  if (r.expectedRevision !== undefined && !isUint64(r.expectedRevision)) return false;
  for (const e of r.events) if (e.$unknown !== undefined || !isUint64(e.revision) || !isUint64(e.globalPosition)) return false;
  for (const v of r.validationErrors) if (v.$unknown !== undefined) return false;
  return true;
}

function isUint64(n: bigint): boolean {
  return n >= 0n && n <= MAX_UINT64;
}

// ---- sizes -------------------------------------------------------------------------------
//
// Measuring walks the message once, in the order writing will, and pushes the length of every
// length-delimited part onto `lengths` as it goes (a part's slot is taken before its insides
// are measured, so the list is in writing order); the writer then takes them off in turn
// instead of measuring each part again.

/** Takes the next slot of `lengths` for a part whose length `measure` then fills in; returns the part's whole size. */
function part(lengths: number[], measure: (lengths: number[]) => number): number {
  const slot = lengths.push(0) - 1;
  const length = measure(lengths);
  lengths[slot] = length;
  return delimited(length);
}

function resultSize(r: CommandResult, lengths: number[]): number {
  let size = stringField(r.commandId) + stringField(r.commandType) + stringField(r.aggregateId);
  if (r.status !== 0) size += 1 + int32Size(r.status);
  size += uint64Field(r.revision) + uint64Field(r.globalPosition);
  for (const e of r.events) size += part(lengths, () => eventSize(e));
  const response = r.response;
  if (response !== undefined) size += part(lengths, (l) => structSize(response, l));
  for (const v of r.validationErrors) size += part(lengths, () => violationSize(v));
  size += stringField(r.code) + stringField(r.message);
  if (r.replayed) size += 2;
  size += stringField(r.correlationId);
  if (r.expectedRevision !== undefined) size += 1 + uint64Size(r.expectedRevision);
  return size + stringField(r.errorId);
}

function eventSize(e: WrittenEvent): number {
  return stringField(e.id) + stringField(e.type) + uint64Field(e.revision) + uint64Field(e.globalPosition) + stringField(e.streamId);
}

function violationSize(v: ValidationError): number {
  return stringField(v.field) + stringField(v.description);
}

/** google.protobuf.Struct: one map entry {1: key, 2: Value} per member, the key and value always written. */
function structSize(object: JsonObject, lengths: number[]): number {
  let size = 0;
  for (const key of Object.keys(object)) size += part(lengths, (l) => entrySize(key, object[key], l));
  return size;
}

/** One Struct map entry: the key (field 1) and its Value (field 2). */
function entrySize(key: string, value: JsonValue, lengths: number[]): number {
  return 1 + stringSize(key) + part(lengths, (l) => valueSize(value, l));
}

/** google.protobuf.Value: exactly one of null (1), number (2), string (3), bool (4), struct (5), list (6). */
function valueSize(value: JsonValue, lengths: number[]): number {
  switch (typeof value) {
    case "number":
      return 9;
    case "string":
      return 1 + stringSize(value);
    case "boolean":
      return 2;
    case "object":
      if (value === null) return 2;
      return Array.isArray(value) ? part(lengths, (l) => listSize(value, l)) : part(lengths, (l) => structSize(value, l));
    default:
      // protobuf-es writes a Value with no kind for what JSON cannot hold (undefined, a function).
      return 0;
  }
}

function listSize(values: readonly JsonValue[], lengths: number[]): number {
  let size = 0;
  for (const v of values) size += part(lengths, (l) => valueSize(v, l));
  return size;
}

/** A tag (one byte: every field number here is below 16), then the length, then `length` bytes. */
function delimited(length: number): number {
  return 1 + varintSize(length) + length;
}

/** A string field with implicit presence: nothing when empty. */
function stringField(text: string): number {
  return text === "" ? 0 : 1 + stringSize(text);
}

/** A uint64 field with implicit presence: nothing when 0. */
function uint64Field(n: bigint): number {
  return n === 0n ? 0 : 1 + uint64Size(n);
}

function stringSize(text: string): number {
  const bytes = utf8Length(text);
  return varintSize(bytes) + bytes;
}

/** The UTF-8 length: the string's own length when it is ASCII (ids, types, codes), counted in JavaScript. */
function utf8Length(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, "utf8");
  return text.length;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function uint64Size(n: bigint): number {
  if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return varintSize(Number(n));
  let size = 1;
  while (n >= 128n) {
    n >>= 7n;
    size++;
  }
  return size;
}

/** An int32 is a varint of its 64-bit two's complement: ten bytes when negative. */
function int32Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

// ---- writing -----------------------------------------------------------------------------

class Writer {
  private at = 0;
  private part = 0;
  constructor(
    readonly bytes: Buffer,
    /** The lengths of the length-delimited parts, in writing order (from the measuring). */
    private readonly lengths: readonly number[],
  ) {}

  /** The tag of the next length-delimited part and its length, as measured; its bytes follow. */
  lengthOf(field: number): void {
    this.tag(field, LENGTH);
    this.varint(this.lengths[this.part++]);
  }

  tag(field: number, wireType: number): void {
    this.bytes[this.at++] = (field << 3) | wireType;
  }

  varint(n: number): void {
    while (n >= 128) {
      this.bytes[this.at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.bytes[this.at++] = n;
  }

  uint64(n: bigint): void {
    if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return this.varint(Number(n));
    while (n >= 128n) {
      this.bytes[this.at++] = Number(n & 127n) | 128;
      n >>= 7n;
    }
    this.bytes[this.at++] = Number(n);
  }

  int32(n: number): void {
    if (n < 0) this.uint64(BigInt.asUintN(64, BigInt(n)));
    else this.varint(n);
  }

  string(text: string): void {
    const length = utf8Length(text);
    this.varint(length);
    if (length === text.length) {
      // ASCII: one byte per character, copied here rather than by a call into C++ (which costs more for short strings).
      for (let i = 0; i < length; i++) this.bytes[this.at++] = text.charCodeAt(i);
    } else {
      this.at += this.bytes.write(text, this.at, length, "utf8");
    }
  }

  double(n: number): void {
    this.at = this.bytes.writeDoubleLE(n, this.at);
  }
}

function writeResult(w: Writer, r: CommandResult): void {
  stringAt(w, 1, r.commandId);
  stringAt(w, 2, r.commandType);
  stringAt(w, 3, r.aggregateId);
  if (r.status !== 0) {
    w.tag(4, VARINT);
    w.int32(r.status);
  }
  uint64At(w, 5, r.revision);
  uint64At(w, 6, r.globalPosition);
  for (const e of r.events) {
    w.lengthOf(7);
    writeEvent(w, e);
  }
  if (r.response !== undefined) {
    w.lengthOf(8);
    writeStruct(w, r.response);
  }
  for (const v of r.validationErrors) {
    w.lengthOf(9);
    writeViolation(w, v);
  }
  stringAt(w, 10, r.code);
  stringAt(w, 11, r.message);
  if (r.replayed) {
    w.tag(12, VARINT);
    w.varint(1);
  }
  stringAt(w, 13, r.correlationId);
  // Explicit presence (proto3 optional): written when set, even to 0.
  if (r.expectedRevision !== undefined) {
    w.tag(14, VARINT);
    w.uint64(r.expectedRevision);
  }
  stringAt(w, 15, r.errorId);
}

function writeEvent(w: Writer, e: WrittenEvent): void {
  stringAt(w, 1, e.id);
  stringAt(w, 2, e.type);
  uint64At(w, 3, e.revision);
  uint64At(w, 4, e.globalPosition);
  stringAt(w, 5, e.streamId);
}

function writeViolation(w: Writer, v: ValidationError): void {
  stringAt(w, 1, v.field);
  stringAt(w, 2, v.description);
}

/** A string field with implicit presence: nothing when empty. */
function stringAt(w: Writer, field: number, text: string): void {
  if (text === "") return;
  w.tag(field, LENGTH);
  w.string(text);
}

/** A uint64 field with implicit presence: nothing when 0. */
function uint64At(w: Writer, field: number, n: bigint): void {
  if (n === 0n) return;
  w.tag(field, VARINT);
  w.uint64(n);
}

function writeStruct(w: Writer, object: JsonObject): void {
  for (const key of Object.keys(object)) {
    w.lengthOf(1);
    w.tag(1, LENGTH);
    w.string(key);
    w.lengthOf(2);
    writeValue(w, object[key]);
  }
}

function writeValue(w: Writer, value: JsonValue): void {
  switch (typeof value) {
    case "number":
      w.tag(2, FIXED64);
      w.double(value);
      return;
    case "string":
      w.tag(3, LENGTH);
      w.string(value);
      return;
    case "boolean":
      w.tag(4, VARINT);
      w.varint(value ? 1 : 0);
      return;
    case "object":
      if (value === null) {
        w.tag(1, VARINT);
        w.varint(0);
      } else if (Array.isArray(value)) {
        w.lengthOf(6);
        for (const item of value) {
          w.lengthOf(1);
          writeValue(w, item);
        }
      } else {
        w.lengthOf(5);
        writeStruct(w, value);
      }
      return;
  }
}
