// The transport's ceiling for Subscribe: a bare grpc-js server-streaming method that writes the
// same pre-encoded message (the size of a booking event's SubscribeResponse) as fast as the
// client takes it, with the backpressure Subscribe uses. Run as its own process by
// bench/subscriptions.ts; prints its port, then serves until killed.
import * as grpc from "@grpc/grpc-js";

const bytes = Buffer.alloc(Number(process.argv[2] ?? 600), 1);
bytes[0] = 0x0a; // read as an event by the client's counting
const server = new grpc.Server();
const identity = (b: Buffer) => b;
server.addService(
  { stream: { path: "/bench.v1.StreamCeiling/Stream", requestStream: false, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  {
    stream: async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const count = call.request.readUInt32BE(0);
      let cancelled = false;
      call.once("cancelled", () => (cancelled = true));
      for (let i = 0; i < count && !cancelled; i++) {
        if (!call.write(bytes)) await new Promise((resolve) => call.once("drain", resolve));
      }
      call.end();
    },
  },
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`${port}\n`);
});
