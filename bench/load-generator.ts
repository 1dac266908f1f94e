// One load-generator process: drives one RPC at a fixed number of calls in flight for a fixed
// time with grpc-js, a unique request id per call, and prints its figures as one JSON line.
// Its own CPU use is reported so a run can show the generator was not the limit.
import { create, toBinary, fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { StringValueSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { BookRoomRequestSchema, RecordPaymentRequestSchema } from "../src/gen/booking/v1/booking_pb.js";
import { CommandResultSchema } from "../src/gen/switchyard/command/v1/command_pb.js";
import { randomUUID } from "node:crypto";

/** What to drive. */
export interface LoadPlan {
  readonly address: string;
  readonly rpc: "echo" | "recordPayment" | "bookRoom";
  readonly inFlight: number;
  readonly durationMs: number;
  /** Booking ids to pay into (recordPayment). */
  readonly bookings?: readonly string[];
  /** Stop after this many calls, if sooner than durationMs. */
  readonly maxCalls?: number;
}

/** What one generator measured. */
export interface LoadFigures {
  readonly calls: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedMs: number;
  readonly latenciesMs: number[];
  readonly generatorCpuUs: number;
}

const paidAt = timestampFromDate(new Date("2026-01-01T00:00:00Z"));
const tag = randomUUID().slice(0, 8);

/** The RPC's path, request schema and request maker. */
function rpcOf(plan: LoadPlan): { path: string; input: DescMessage; output: DescMessage; request: (n: number) => unknown } {
  switch (plan.rpc) {
    case "echo":
      return { path: "/bench.v1.EchoService/Echo", input: StringValueSchema, output: StringValueSchema, request: (n) => ({ value: `echo-${n}` }) };
    case "bookRoom":
      return {
        path: "/booking.v1.BookingService/BookRoom",
        input: BookRoomRequestSchema,
        output: CommandResultSchema,
        request: (n) => ({
          bookingId: `N-${tag}-${n}`,
          roomId: "R1",
          guestId: "G1",
          checkIn: "2030-01-01",
          checkOut: "2030-01-03",
          amount: "200.00",
          currency: "EUR",
          requestId: `book-${tag}-${n}`,
        }),
      };
    case "recordPayment": {
      const bookings = plan.bookings ?? [];
      return {
        path: "/booking.v1.BookingService/RecordPayment",
        input: RecordPaymentRequestSchema,
        output: CommandResultSchema,
        request: (n) => ({
          bookingId: bookings[n % bookings.length],
          paymentId: `P-${tag}-${n}`,
          amount: "0.01",
          currency: "EUR",
          paidAt,
          requestId: `pay-${tag}-${n}`,
        }),
      };
    }
  }
}

/** Runs the plan and returns the figures. */
export async function generateLoad(plan: LoadPlan): Promise<LoadFigures> {
  const { path, input, output, request } = rpcOf(plan);
  const client = new grpc.Client(plan.address, grpc.credentials.createInsecure());
  const serialize = (m: unknown) => Buffer.from(toBinary(input, create(input, m as never)));
  const deserialize = (b: Buffer) => fromBinary(output, b);
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let issued = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const deadline = started + plan.durationMs;
  const maxCalls = plan.maxCalls ?? Number.POSITIVE_INFINITY;

  const lane = async () => {
    while (performance.now() < deadline && issued < maxCalls) {
      const n = issued++;
      const sent = performance.now();
      await new Promise<void>((resolve) =>
        client.makeUnaryRequest(path, serialize, deserialize, request(n), (error) => {
          latenciesMs.push(performance.now() - sent);
          if (error) {
            errors++;
            firstError ??= `${error.code} ${error.details}`;
          }
          resolve();
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: plan.inFlight }, lane));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  client.close();
  return { calls: latenciesMs.length, errors, firstError, elapsedMs, latenciesMs, generatorCpuUs: cpu.user + cpu.system };
}

if (process.argv[2]) {
  const figures = await generateLoad(JSON.parse(process.argv[2]) as LoadPlan);
  process.stdout.write(JSON.stringify(figures) + "\n");
}
