import { fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";

/** The bytes protobuf-es wrote, as the Buffer grpc-js wants, without copying them. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** grpc-js's four codec functions of a method, from its protobuf-es message schemas. */
export function protobufCodec(input: DescMessage, output: DescMessage) {
  return {
    requestSerialize: (message: unknown) => asBuffer(toBinary(input, message as never)),
    requestDeserialize: (bytes: Buffer): unknown => fromBinary(input, bytes),
    responseSerialize: (message: unknown) => asBuffer(toBinary(output, message as never)),
    responseDeserialize: (bytes: Buffer): unknown => fromBinary(output, bytes),
  };
}
