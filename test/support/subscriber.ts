import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  SubscribeRequestSchema,
  SubscribeResponseSchema,
  type SubscribeResponse,
} from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { failureOf, type GrpcFailure } from "./grpc-client.js";

/** A Subscribe stream opened with grpc-js, as a test watches it. */
export interface GrpcSubscription {
  /** Every message received so far, in order. */
  readonly messages: SubscribeResponse[];
  /** Global positions of the events received so far. */
  positions(): number[];
  /** Resolves with "ok", or the decoded failure the stream ended with. */
  readonly ended: Promise<"ok" | GrpcFailure>;
  /** Resolves once `check` holds for the messages received (checked on each one), or rejects after `ms`. */
  until(what: string, check: (messages: SubscribeResponse[]) => boolean, ms?: number): Promise<void>;
  /** Stops reading (the client's buffers fill, then the server's writes wait), and resumes. */
  pause(): void;
  resume(): void;
  cancel(): void;
}

/** Opens EventStoreService.Subscribe on a gRPC address, with metadata headers (a bearer token, say). */
export function subscribeGrpc(address: string, request: MessageInitShape<typeof SubscribeRequestSchema>, headers: Record<string, string> = {}): GrpcSubscription {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  const call = client.makeServerStreamRequest(
    "/switchyard.eventstore.v1.EventStoreService/Subscribe",
    (m: unknown) => Buffer.from(toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, m as never))),
    (b: Buffer) => fromBinary(SubscribeResponseSchema, b),
    request,
    metadata,
  );
  const messages: SubscribeResponse[] = [];
  const checks = new Set<() => void>();
  call.on("data", (m: SubscribeResponse) => {
    messages.push(m);
    for (const check of [...checks]) check();
  });
  const ended = new Promise<"ok" | GrpcFailure>((resolve) => {
    call.on("error", (error: grpc.ServiceError) => resolve(failureOf(error)));
    call.on("end", () => resolve("ok"));
  }).finally(() => {
    client.close();
    for (const check of [...checks]) check();
  });
  let finished = false;
  void ended.then(() => (finished = true));
  return {
    messages,
    positions: () => messages.flatMap((m) => (m.message.case === "event" ? [Number(m.message.value.globalPosition)] : [])),
    ended,
    until(what, check, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          checks.delete(test);
          reject(new Error(`timed out waiting for ${what}; got ${messages.length} messages`));
        }, ms);
        const test = () => {
          if (check(messages)) {
            clearTimeout(timer);
            checks.delete(test);
            resolve();
          } else if (finished) {
            clearTimeout(timer);
            checks.delete(test);
            reject(new Error(`the stream ended before ${what}; got ${messages.length} messages`));
          }
        };
        checks.add(test);
        test();
      });
    },
    pause: () => call.pause(),
    resume: () => call.resume(),
    cancel: () => call.cancel(),
  };
}

/** The messages' kinds in order, events as "event". */
export function kindsOf(messages: readonly SubscribeResponse[]): string[] {
  return messages.map((m) => m.message.case ?? "none");
}
