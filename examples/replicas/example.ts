// The replica example: three replicas on one PostgreSQL database, a gRPC client balancing
// over them itself (grpc-js round_robin), and a Connect client behind a plain HTTP balancer.
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { randomUUID } from "node:crypto";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { EventStoreService } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { startBalancer, SERVED_BY } from "./balancer.js";
import { startReplica, type Replica } from "./replicas.js";

/** Calls each client makes, spread by its balancing over the replicas. */
const CALLS = 6;

/** What the example saw, for a reader and for its test. */
export interface ReplicaExampleReport {
  readonly replicas: ReadonlyArray<{ name: string; grpcAddress: string; httpAddress: string }>;
  /** The replica that answered each gRPC call, in order. */
  readonly grpcAnsweredBy: readonly string[];
  /** The replica the balancer sent each Connect call to, in order. */
  readonly connectAnsweredBy: readonly string[];
  /** Each replica's plain-HTTP probes and /metrics, as "200 ok" and the like. */
  readonly probes: ReadonlyArray<{ name: string; healthz: string; readyz: string; metrics: string }>;
}

/**
 * Runs the example against `databaseUrl` (postgres://…), writing what happens through
 * `print`, and stops everything it started before it resolves.
 */
export async function runReplicaExample(databaseUrl: string, print: (line: string) => void = console.log): Promise<ReplicaExampleReport> {
  // Started together: they share the database, and the first to take its lock creates the schema.
  const started = await Promise.allSettled(["replica-1", "replica-2", "replica-3"].map((name) => startReplica(name, databaseUrl)));
  const replicas = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await Promise.all(replicas.map((r) => r.stop()));
    throw failed.reason;
  }
  for (const r of replicas) print(`${r.name}: gRPC ${r.grpcAddress}, HTTP ${r.httpAddress}`);
  const balancer = await startBalancer(replicas.map((r) => r.httpAddress));
  print(`HTTP balancer (round robin over the HTTP ports): ${balancer.url}`);
  const nameOf = (address: string) => replicas.find((r) => r.grpcAddress === address || r.httpAddress === address)?.name ?? address;

  try {
    const bookingId = `B-${randomUUID().slice(0, 8)}`;
    const grpcAnsweredBy = await overGrpc(replicas, bookingId, nameOf, print);
    const connectAnsweredBy = await overConnect(balancer.url, bookingId, nameOf, print);
    const probes = [];
    for (const r of replicas) {
      const [healthz, readyz, metrics] = await Promise.all(["/healthz", "/readyz", "/metrics"].map((path) => probe(`http://${r.httpAddress}${path}`)));
      print(`${r.name}: /healthz ${healthz}, /readyz ${readyz}, /metrics ${metrics}`);
      probes.push({ name: r.name, healthz, readyz, metrics });
    }
    return { replicas: replicas.map(({ name, grpcAddress, httpAddress }) => ({ name, grpcAddress, httpAddress })), grpcAnsweredBy, connectAnsweredBy, probes };
  } finally {
    await balancer.close();
    await Promise.all(replicas.map((r) => r.stop()));
  }
}

/**
 * A grpc-js channel over every replica's gRPC port, the `ipv4:` target listing them and the
 * service config asking for round_robin: the client keeps a connection to each and sends
 * each call to the next ready one. In Kubernetes the target is a headless Service's DNS name
 * instead (`dns:///switchyard.shop.svc.cluster.local:50051`), which resolves to every ready pod.
 */
async function overGrpc(replicas: readonly Replica[], bookingId: string, nameOf: (address: string) => string, print: (line: string) => void): Promise<string[]> {
  const target = `ipv4:${replicas.map((r) => r.grpcAddress).join(",")}`;
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  });
  print(`\ngRPC client on ${target}, round_robin:`);
  const answeredBy: string[] = [];
  try {
    const booked = await unary(client, BookingService.method.bookRoom, {
      bookingId, roomId: "R101", guestId: "guest-1", checkIn: "2030-05-01", checkOut: "2030-05-03", price: "180.00", currency: "EUR", requestId: randomUUID(),
    });
    print(`  BookRoom ${bookingId}: ${booked.response.status === 1 ? "accepted" : booked.response.message}, answered by ${nameOf(booked.peer)}`);
    answeredBy.push(nameOf(booked.peer));
    for (let i = 1; i < CALLS; i++) {
      const paid = await unary(client, BookingService.method.recordPayment, {
        bookingId, paymentId: `P${i}`, amount: "10.00", currency: "EUR", paidAt: timestampFromDate(new Date()), requestId: randomUUID(),
      });
      print(`  RecordPayment P${i}: revision ${paid.response.revision}, answered by ${nameOf(paid.peer)}`);
      answeredBy.push(nameOf(paid.peer));
    }
  } finally {
    client.close();
  }
  return answeredBy;
}

/** One unary call on a raw grpc-js client, resolving with the response and the address of the replica that answered (the call's peer). */
function unary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: { parent: { typeName: string }; name: string; input: I; output: O },
  request: MessageInitShape<I>,
): Promise<{ response: MessageShape<O>; peer: string }> {
  return new Promise((resolve, reject) => {
    const call = client.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      (message: MessageShape<I>) => Buffer.from(toBinary(method.input, message)),
      (bytes: Buffer) => fromBinary(method.output, bytes),
      create(method.input, request),
      { deadline: Date.now() + 10_000 },
      (error, response) => (error ? reject(error) : resolve({ response: response!, peer: call.getPeer() })),
    );
  });
}

/**
 * A Connect client (HTTP/1.1, JSON) that knows one address, the balancer's; the balancer
 * picks the replica and says which in a response header.
 */
async function overConnect(balancerUrl: string, bookingId: string, nameOf: (address: string) => string, print: (line: string) => void): Promise<string[]> {
  const client = createClient(BookingService, createConnectTransport({ baseUrl: balancerUrl, httpVersion: "1.1" }));
  print(`\nConnect client on ${balancerUrl}:`);
  const answeredBy: string[] = [];
  for (let i = 0; i < CALLS; i++) {
    let servedBy = "";
    const booking = await client.getBooking({ bookingId }, { onHeader: (headers) => (servedBy = nameOf(headers.get(SERVED_BY) ?? "")) });
    print(`  GetBooking ${bookingId}: paid ${booking.paid} at revision ${booking.revision}, answered by ${servedBy}`);
    answeredBy.push(servedBy);
  }
  // A server stream through the balancer too: the booking's events from the start, until caught up.
  const events = createClient(EventStoreService, createConnectTransport({ baseUrl: balancerUrl, httpVersion: "1.1" }));
  let servedBy = "";
  let received = 0;
  const request = { start: { case: "fromStart" as const, value: true }, streamIdPrefix: `booking-${bookingId}` };
  for await (const { message } of events.subscribe(request, { onHeader: (headers) => (servedBy = nameOf(headers.get(SERVED_BY) ?? "")) })) {
    if (message.case === "event") received++;
    if (message.case === "caughtUp") break; // leaving the loop cancels the stream
  }
  print(`  Subscribe to booking-${bookingId} from the start: ${received} events, then caught up, from ${servedBy}`);
  return answeredBy;
}

/** GET `url`, as its status and what it says: "200 ok" from a probe, "200, 41 switchyard_ samples" from /metrics. */
async function probe(url: string): Promise<string> {
  const response = await fetch(url);
  const body = (await response.text()).trim();
  if (!url.endsWith("/metrics")) return `${response.status} ${body}`;
  if (!response.ok) return String(response.status);
  return `${response.status}, ${body.split("\n").filter((line) => line.startsWith("switchyard_")).length} switchyard_ samples`;
}
