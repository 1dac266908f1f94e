import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary, type JsonObject } from "@bufbuild/protobuf";
import fc from "fast-check";
import { encodeCommandResult } from "../../src/edge/command-result-wire.js";
import {
  CommandResultSchema,
  CommandStatus,
  ValidationErrorSchema,
  WrittenEventSchema,
} from "../../src/gen/switchyard/command/v1/command_pb.js";

/** Any text a result may carry: empty, ASCII, any code point, and lone surrogate halves. */
const text = fc.oneof(fc.constant(""), fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }));
/** uint64 values: zero (not written), small, around 2^53, and up to 2^64 - 1. */
const uint64 = fc.oneof(
  fc.constant(0n),
  fc.bigInt({ min: 1n, max: 300n }),
  fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
/** A response as a command may return it, with members JSON cannot hold (protobuf-es writes an empty Value). */
const response: fc.Arbitrary<JsonObject> = fc.dictionary(
  text,
  fc.oneof(fc.jsonValue(), fc.constantFrom(undefined, -0, Number.NaN, Infinity)),
) as fc.Arbitrary<JsonObject>;

const commandResult = fc.record({
  commandId: text,
  commandType: text,
  aggregateId: text,
  // Known statuses, and numbers no status has (negative ones are ten-byte varints).
  status: fc.oneof(fc.constantFrom(...(Object.values(CommandStatus).filter((v) => typeof v === "number") as number[])), fc.integer({ min: -3, max: 40 })),
  revision: uint64,
  globalPosition: uint64,
  events: fc.array(fc.record({ id: text, type: text, revision: uint64, globalPosition: uint64, streamId: text }), { maxLength: 4 }),
  response: fc.option(response, { nil: undefined }),
  validationErrors: fc.array(fc.record({ field: text, description: text }), { maxLength: 4 }),
  code: text,
  message: text,
  replayed: fc.boolean(),
  correlationId: text,
  expectedRevision: fc.option(uint64, { nil: undefined }),
  errorId: text,
});

describe("CommandResult wire encoding", () => {
  it("writes exactly the bytes protobuf-es writes, for any result", () => {
    fc.assert(
      fc.property(commandResult, (fields) => {
        const { events, validationErrors, response: body, expectedRevision, ...rest } = fields;
        const message = create(CommandResultSchema, {
          ...rest,
          events: events.map((e) => create(WrittenEventSchema, e)),
          validationErrors: validationErrors.map((v) => create(ValidationErrorSchema, v)),
        });
        // Set only when present, as toProtoResult does: an optional field's presence is its own property.
        if (body !== undefined) message.response = body;
        if (expectedRevision !== undefined) message.expectedRevision = expectedRevision;
        const ours = encodeCommandResult(message);
        assert.deepEqual(Buffer.from(ours), Buffer.from(toBinary(CommandResultSchema, message)));
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes back to the result it was written from", () => {
    const message = create(CommandResultSchema, {
      commandId: "019a8c4e-1b2c-7d3e-8f90-123456789abc",
      commandType: "booking.RecordPayment",
      aggregateId: "B-1",
      status: CommandStatus.ACCEPTED,
      revision: 3n,
      globalPosition: 2n ** 60n,
      events: [create(WrittenEventSchema, { id: "e-1", type: "PaymentRecorded", revision: 3n, globalPosition: 2n ** 60n })],
      correlationId: "pay-1",
    });
    message.response = { outstandingMinor: 12345, duplicatePayment: false, note: "ünïcödé", nested: { list: [1, "two", null, true] } };
    const decoded = fromBinary(CommandResultSchema, encodeCommandResult(message));
    assert.deepEqual(decoded, message);
  });

  it("writes a deeply nested response as protobuf-es does (each part measured once, its length used in writing order)", () => {
    let inner: JsonObject = { leaf: [1, "two", null, { last: true }] };
    for (let depth = 0; depth < 40; depth++) inner = { depth, list: [inner, `level ${depth}`], [`k${depth}`]: { v: depth % 2 === 0 } };
    const message = create(CommandResultSchema, { commandId: "c", events: [create(WrittenEventSchema, { id: "e", revision: 1n })] });
    message.response = inner;
    message.validationErrors = [create(ValidationErrorSchema, { field: "f", description: "after the response" })];
    assert.deepEqual(Buffer.from(encodeCommandResult(message)), Buffer.from(toBinary(CommandResultSchema, message)));
  });

  it("leaves what it does not expect to protobuf-es: a uint64 out of range fails the same way", () => {
    const message = create(CommandResultSchema, { commandId: "c", revision: -1n });
    assert.throws(() => toBinary(CommandResultSchema, message));
    assert.throws(() => encodeCommandResult(message));
    const tooBig = create(CommandResultSchema, { commandId: "c", events: [create(WrittenEventSchema, { globalPosition: 2n ** 64n })] });
    assert.throws(() => encodeCommandResult(tooBig));
  });

  it("knows every field of the messages it writes (a new field must be added to the writer)", () => {
    const numbers = (schema: { fields: readonly { number: number }[] }) => schema.fields.map((f) => f.number).sort((a, b) => a - b);
    assert.deepEqual(numbers(CommandResultSchema), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    assert.deepEqual(numbers(WrittenEventSchema), [1, 2, 3, 4, 5]);
    assert.deepEqual(numbers(ValidationErrorSchema), [1, 2]);
  });
});
