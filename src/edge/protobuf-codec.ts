import { fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { CommandResultSchema, type CommandResult } from "../gen/switchyard/command/v1/command_pb.js";
import { encodeCommandResult } from "./command-result-wire.js";

/** The bytes protobuf-es wrote, as the Buffer grpc-js wants, without copying them. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const ENCODED = Symbol("encoded");

/**
 * Attaches a message's binary encoding, made by a handler that had to encode it anyway (a
 * read sizing its page), so the gRPC port sends those bytes instead of encoding it again.
 * The attachment is a symbol property: protobuf-es and connect, which read the fields,
 * never see it.
 */
export function withEncoding<M extends object>(message: M, bytes: Uint8Array): M {
  Object.defineProperty(message, ENCODED, { value: bytes });
  return message;
}

/**
 * A stand-in for a message of `typeName` that is only its encoding, for a transport that
 * sends encodings as they are (the gRPC port; EdgeCall.sendsEncoded): no fields to build,
 * nothing to copy. Anything that reads fields sees none.
 */
export function encodedMessage<M extends { $typeName: string }>(typeName: M["$typeName"], bytes: Uint8Array): M {
  return { $typeName: typeName, [ENCODED]: bytes } as unknown as M;
}

/**
 * A message's encoder: an encoding attached with withEncoding is used as it is;
 * CommandResult, every command's answer, has its own (command-result-wire.ts).
 */
export function encoderOf(schema: DescMessage): (message: unknown) => Uint8Array {
  const encode =
    schema.typeName === CommandResultSchema.typeName
      ? (message: unknown) => encodeCommandResult(message as CommandResult)
      : (message: unknown) => toBinary(schema, message as never);
  return (message) => (message as { [ENCODED]?: Uint8Array })[ENCODED] ?? encode(message);
}

/**
 * grpc-js's four codec functions of a method, from its protobuf-es message schemas. A
 * response may also be given already encoded (grpc-server.ts measures its size first).
 */
export function protobufCodec(input: DescMessage, output: DescMessage) {
  const encodeInput = encoderOf(input);
  const encodeOutput = encoderOf(output);
  return {
    requestSerialize: (message: unknown) => asBuffer(encodeInput(message)),
    requestDeserialize: (bytes: Buffer): unknown => fromBinary(input, bytes),
    responseSerialize: (message: unknown) => asBuffer(message instanceof Uint8Array ? message : encodeOutput(message)),
    responseDeserialize: (bytes: Buffer): unknown => fromBinary(output, bytes),
  };
}
