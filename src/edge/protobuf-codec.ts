import { fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { CommandResultSchema, type CommandResult } from "../gen/switchyard/command/v1/command_pb.js";
import { encodeCommandResult } from "./command-result-wire.js";

/** The bytes protobuf-es wrote, as the Buffer grpc-js wants, without copying them. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A message's encoder: CommandResult, every command's answer, has its own (command-result-wire.ts). */
export function encoderOf(schema: DescMessage): (message: unknown) => Uint8Array {
  if (schema.typeName === CommandResultSchema.typeName) return (message) => encodeCommandResult(message as CommandResult);
  return (message) => toBinary(schema, message as never);
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
