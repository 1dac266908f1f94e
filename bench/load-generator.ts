// One load-generator process: drives one RPC at a fixed number of calls in flight for a fixed
// time over HTTP/2, a unique request id per call (request-ids.ts), and prints its figures as one JSON line.
// Its own CPU use is reported so a run can show the generator was not the limit.
import { create, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { StringValueSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import http2 from "node:http2";
import { BookRoomRequestSchema, RecordPaymentRequestSchema } from "../src/gen/booking/v1/booking_pb.js";
import { randomUUID } from "node:crypto";
import { requestIdOf } from "./request-ids.js";

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
function rpcOf(plan: LoadPlan): { path: string; input: DescMessage; request: (n: number) => unknown } {
  switch (plan.rpc) {
    case "echo":
      return { path: "/bench.v1.EchoService/Echo", input: StringValueSchema, request: (n) => ({ value: `echo-${n}` }) };
    case "bookRoom":
      return {
        path: "/booking.v1.BookingService/BookRoom",
        input: BookRoomRequestSchema,
        request: (n) => ({
          bookingId: `N-${tag}-${n}`,
          roomId: `N-${tag}-${n}`,
          guestId: "G1",
          checkIn: "2030-01-01",
          checkOut: "2030-01-03",
          amount: "200.00",
          currency: "EUR",
          requestId: requestIdOf(`book-${tag}`, n),
        }),
      };
    case "recordPayment": {
      const bookings = plan.bookings ?? [];
      return {
        path: "/booking.v1.BookingService/RecordPayment",
        input: RecordPaymentRequestSchema,
        request: (n) => ({
          bookingId: bookings[n % bookings.length],
          paymentId: `P-${tag}-${n}`,
          amount: "0.01",
          currency: "EUR",
          paidAt,
          requestId: requestIdOf(`pay-${tag}`, n),
        }),
      };
    }
  }
}

/**
 * Runs the plan and returns the figures. The calls go over one HTTP/2 connection as plain
 * gRPC frames (node:http2, no gRPC client library): grpc-js's client spent ~180 µs of CPU
 * per call here and was the limit against the echo RPC, and a generator must not be. Each
 * request is still encoded per call (unique ids), and a call counts as an error unless its
 * trailers say grpc-status 0.
 */
export async function generateLoad(plan: LoadPlan): Promise<LoadFigures> {
  const { path, input, request } = rpcOf(plan);
  const session = http2.connect(`http://${plan.address}`);
  await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject));
  const headers = { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" };
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let issued = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const deadline = started + plan.durationMs;
  const maxCalls = plan.maxCalls ?? Number.POSITIVE_INFINITY;

  /** One unary call; resolves with its failure, or undefined on grpc-status 0. */
  const call = (n: number) =>
    new Promise<string | undefined>((resolve) => {
      const body = toBinary(input, create(input, request(n) as never));
      const frame = Buffer.allocUnsafe(5 + body.length);
      frame[0] = 0;
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      const stream = session.request(headers);
      let status: string | undefined;
      let message: string | undefined;
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) [status, message] = [String(h["grpc-status"]), String(h["grpc-message"] ?? "")];
      };
      stream.on("response", take).on("trailers", take).on("data", () => undefined);
      stream.on("close", () => resolve(status === "0" ? undefined : `${status ?? "no status"} ${message ?? stream.rstCode}`));
      stream.end(frame);
    });

  const lane = async () => {
    while (performance.now() < deadline && issued < maxCalls) {
      const sent = performance.now();
      const error = await call(issued++);
      latenciesMs.push(performance.now() - sent);
      if (error) {
        errors++;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: plan.inFlight }, lane));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  session.close();
  return { calls: latenciesMs.length, errors, firstError, elapsedMs, latenciesMs, generatorCpuUs: cpu.user + cpu.system };
}

if (process.argv[2]) {
  const figures = await generateLoad(JSON.parse(process.argv[2]) as LoadPlan);
  process.stdout.write(JSON.stringify(figures) + "\n");
}
