import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { EventStoreService, SubscribeRequestSchema, type SubscribeResponse } from "../../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { hs256Token } from "../support/auth-helpers.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";
import { eventually } from "../support/eventually.js";
import { grpcJsClient } from "../support/grpc-client.js";
import { startTestPostgres, type TestPostgres } from "../support/postgres.js";
import { fetchStream, frame, h2GrpcStream } from "../support/raw-rpc.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { kindsOf, subscribeGrpc } from "../support/subscriber.js";

const eventsOf = (messages: readonly SubscribeResponse[]) => messages.flatMap((m) => (m.message.case === "event" ? [m.message.value] : []));
const has = (kind: string) => (messages: readonly SubscribeResponse[]) => messages.some((m) => m.message.case === kind);

/** Books `count` rooms through a server, `inFlight` at a time. */
async function book(server: ServerProcess, count: number, inFlight = 8, headers: Record<string, string> = {}) {
  const client = grpcJsClient(BookingService, server.grpcAddress);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        next++;
        await client.bookRoom(bookRoomRequest(newId("S")), headers);
      }
    }),
  );
  client.close();
}

/** Every event position a server's tenant holds, read with ReadAll. */
async function storedPositions(server: ServerProcess, headers: Record<string, string> = {}): Promise<number[]> {
  const client = grpcJsClient(EventStoreService, server.grpcAddress);
  const positions: number[] = [];
  for (let from = 1n; ; ) {
    const page = await client.readAll({ fromPosition: from, maxCount: 1000 }, headers);
    positions.push(...page.events.map((e) => Number(e.globalPosition)));
    if (page.events.length === 0) break;
    from = page.nextPosition;
  }
  client.close();
  return positions;
}

/** Appends `count` events of 2 KB each, one to a stream, straight into a server's SQLite file (as another process would). */
async function appendBlobs(path: string, count: number, streamPrefix: string, type: string): Promise<void> {
  const writer = openSqliteStore({ path });
  const blob = "y".repeat(2_000);
  const metadata = { commandId: "c", commandType: "t", requestId: "r", correlationId: "c", causationId: "c", tenant: "default", timestamp: new Date().toISOString() };
  try {
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        writer.append({ tenant: "default", streamId: `${streamPrefix}-${i}`, expectedRevision: 0, events: [{ id: newId("e"), type, data: { blob }, metadata }] }),
      ),
    );
  } finally {
    await writer.close();
  }
}

/** The process's resident memory, in MB, from /proc. */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

describe("Subscribe: two server processes on one SQLite file", () => {
  let a: ServerProcess;
  let b: ServerProcess;
  before(async () => {
    a = await startServerProcess({ MAX_SUBSCRIPTIONS: "3", SHUTDOWN_TIMEOUT_MS: "3000" });
    b = await startServerProcess({ DATABASE_URL: `file:${a.databasePath}` });
  });
  after(async () => {
    await a?.dispose();
    await b?.dispose();
  });

  it("catches up, then delivers live what both processes commit, with no gap and no duplicate", async () => {
    await book(a, 30);
    const subscription = subscribeGrpc(a.grpcAddress, { start: { case: "fromStart", value: true } });
    // Writers on both processes race the catch-up's switch-over to live.
    await Promise.all([book(a, 150), book(b, 150)]);
    // Each booking writes two events: RoomBooked and its room's NightsReserved.
    await subscription.until("660 events", (m) => eventsOf(m).length >= 660);
    subscription.cancel();
    const positions = subscription.positions();
    assert.deepEqual(positions, await storedPositions(a));
    assert.equal(new Set(positions).size, 660);
    assert.equal(kindsOf(subscription.messages).filter((k) => k === "caughtUp").length, 1, "caught up once, never fell behind");
  });

  it("over Connect on the HTTP port too: a live event another process commits arrives", async () => {
    const client = createClient(EventStoreService, createConnectTransport({ baseUrl: b.httpUrl, httpVersion: "1.1" }));
    const controller = new AbortController();
    const received: SubscribeResponse[] = [];
    const reading = (async () => {
      try {
        for await (const message of client.subscribe({ start: { case: "fromNow", value: true } }, { signal: controller.signal })) {
          received.push(message);
          if (message.message.case === "caughtUp") void book(a, 1);
          if (message.message.case === "event") break;
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    })();
    const timer = setTimeout(() => controller.abort(), 10_000);
    await reading;
    clearTimeout(timer);
    assert.deepEqual(kindsOf(received), ["caughtUp", "event"]);
  });

  it("filters by event type and stream prefix, and a filter that matches nothing still sends checkpoints up to the head", async () => {
    const nothing = subscribeGrpc(a.grpcAddress, { start: { case: "fromStart", value: true }, eventTypes: ["NoSuchEvent"] });
    const prefixed = subscribeGrpc(a.grpcAddress, { start: { case: "fromStart", value: true }, streamIdPrefix: "booking-nomatch" });
    const head = Math.max(...(await storedPositions(a)));
    await nothing.until("a checkpoint at the head", (m) => m.some((x) => x.message.case === "checkpoint" && Number(x.message.value.position) >= head), 5_000);
    await prefixed.until("caught up", has("caughtUp"));
    assert.equal(eventsOf(nothing.messages).length + eventsOf(prefixed.messages).length, 0);
    nothing.cancel();
    prefixed.cancel();
  });

  it("refuses subscriptions past MAX_SUBSCRIPTIONS, and a cancelled client frees its place", async () => {
    const open = [0, 1, 2].map(() => subscribeGrpc(a.grpcAddress, { start: { case: "fromNow", value: true } }));
    await Promise.all(open.map((s) => s.until("caught up", has("caughtUp"))));
    const refused = await subscribeGrpc(a.grpcAddress, { start: { case: "fromNow", value: true } }).ended;
    assert.ok(refused !== "ok");
    assert.equal(refused.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(refused.errorInfo?.reason, "TOO_MANY_SUBSCRIPTIONS");
    open[0].cancel();
    await eventually("a freed place", async () => {
      const s = subscribeGrpc(a.grpcAddress, { start: { case: "fromNow", value: true } });
      const outcome = await Promise.race([s.until("caught up", has("caughtUp"), 2000).then(() => "open"), s.ended.then(() => "refused")]);
      s.cancel();
      return outcome === "open";
    });
    for (const s of open) s.cancel();
  });

  it("refuses a start past the head, and bad filters, with the field named", async () => {
    const past = await subscribeGrpc(a.grpcAddress, { start: { case: "afterPosition", value: 10_000_000n } }).ended;
    assert.ok(past !== "ok");
    assert.equal(past.code, grpc.status.OUT_OF_RANGE);
    const tooMany = await subscribeGrpc(a.grpcAddress, { eventTypes: Array.from({ length: 101 }, (_, i) => `T${i}`) }).ended;
    assert.ok(tooMany !== "ok");
    assert.equal(tooMany.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(tooMany.badRequest?.fieldViolations[0]?.field, "event_types");
  });

  it("on SIGTERM ends open streams at once with UNAVAILABLE, DRAINING and the position to resume from; the other process resumes there with no gap", async () => {
    const subscription = subscribeGrpc(a.grpcAddress, { start: { case: "fromStart", value: true } });
    await subscription.until("caught up", has("caughtUp"));
    const stopping = Date.now();
    const exit = a.stop("SIGTERM");
    const ended = await subscription.ended;
    assert.ok(ended !== "ok");
    assert.equal(ended.code, grpc.status.UNAVAILABLE);
    assert.equal(ended.errorInfo?.reason, "DRAINING");
    const resumeAt = Number(ended.errorInfo?.metadata.resumeAfterPosition);
    assert.equal(resumeAt, subscription.positions().at(-1));
    assert.equal(await exit, 0);
    assert.ok(Date.now() - stopping < 3_000, "shutdown finished within SHUTDOWN_TIMEOUT_MS");
    await book(b, 5);
    const resumed = subscribeGrpc(b.grpcAddress, { start: { case: "afterPosition", value: BigInt(resumeAt) } });
    await resumed.until("the 10 new events of 5 bookings", (m) => eventsOf(m).length >= 10);
    resumed.cancel();
    assert.deepEqual([...subscription.positions(), ...resumed.positions()], await storedPositions(b));
  });
});

describe("Subscribe: a slow reader", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => server?.dispose());

  it("holds a bounded amount of server memory while a fast writer adds 200 MB of events, and then receives every one", async () => {
    const subscription = subscribeGrpc(server.grpcAddress, { start: { case: "fromNow", value: true } });
    await subscription.until("caught up", has("caughtUp"));
    subscription.pause();
    const before = rssMb(server.child.pid!);
    // Another writer on the same file (as a second process would be): 2,000 events of 100 kB.
    const writer = openSqliteStore({ path: server.databasePath });
    const blob = "x".repeat(100_000);
    let peak = before;
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          writer.append({
            tenant: "default",
            streamId: `big-${batch}-${i}`,
            expectedRevision: 0,
            events: [{ id: newId("e"), type: "Big", data: { blob }, metadata: { commandId: "c", commandType: "t", requestId: "r", correlationId: "c", causationId: "c", tenant: "default", timestamp: new Date().toISOString() } }],
          }),
        ),
      );
      peak = Math.max(peak, rssMb(server.child.pid!));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    peak = Math.max(peak, rssMb(server.child.pid!));
    await writer.close();
    console.log(`# server RSS: ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most while 200 MB of events were written for a reader that read nothing`);
    // Queued for the reader, 200 MB of events would take several times that (parsed and encoded).
    // What may grow: SQLite's page cache (64 MB), the feed's tail (8 Mi characters), a page, and garbage not yet collected.
    assert.ok(peak - before < 160, `server RSS grew by ${(peak - before).toFixed(0)} MB`);
    subscription.resume();
    await subscription.until("all 2,000 events", (m) => eventsOf(m).length >= 2000, 60_000);
    subscription.cancel();
    const positions = subscription.positions();
    assert.equal(new Set(positions).size, 2000);
    assert.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]));
  });
});

describe("Subscribe: scopes and tenants (AUTH_MODE=jwt)", () => {
  const secret = "a-test-secret-that-is-long-enough-0123456789";
  let server: ServerProcess;
  const token = async (tenant: string, scope: string) => ({ authorization: `Bearer ${await hs256Token(secret, { sub: "u", tenant, scope })}` });
  before(async () => {
    server = await startServerProcess({ AUTH_MODE: "jwt", AUTH_JWT_SECRET: secret });
  });
  after(async () => server?.dispose());

  it("needs credentials and bookings:read, and shows a tenant only its own events", async () => {
    const none = await subscribeGrpc(server.grpcAddress, {}).ended;
    assert.ok(none !== "ok");
    assert.equal(none.code, grpc.status.UNAUTHENTICATED);
    const writeOnly = await subscribeGrpc(server.grpcAddress, {}, await token("t1", "bookings:write")).ended;
    assert.ok(writeOnly !== "ok");
    assert.equal(writeOnly.code, grpc.status.PERMISSION_DENIED);

    const [t1, t2] = [await token("t1", "bookings:read bookings:write"), await token("t2", "bookings:read bookings:write")];
    await book(server, 3, 1, t1);
    await book(server, 2, 1, t2);
    const one = subscribeGrpc(server.grpcAddress, {}, t1);
    const two = subscribeGrpc(server.grpcAddress, {}, t2);
    await one.until("caught up", has("caughtUp"));
    await two.until("caught up", has("caughtUp"));
    assert.deepEqual(
      [eventsOf(one.messages).map((e) => e.metadata?.tenant), eventsOf(two.messages).map((e) => e.metadata?.tenant)],
      // Two events a booking: RoomBooked and its room's NightsReserved.
      [Array(6).fill("t1"), Array(4).fill("t2")],
    );
    one.cancel();
    two.cancel();
  });
});

describe("Subscribe: two replicas on one PostgreSQL database", () => {
  let postgres: TestPostgres | undefined;
  let skip: string | undefined;
  let one: ServerProcess;
  let two: ServerProcess;
  before(async () => {
    const found = await startTestPostgres();
    if ("skip" in found) {
      skip = found.skip;
      return;
    }
    postgres = found.postgres;
    const url = await postgres.database("subscribe");
    one = await startServerProcess({ DATABASE_URL: url });
    two = await startServerProcess({ DATABASE_URL: url });
  });
  after(async () => {
    await one?.dispose();
    await two?.dispose();
    await postgres?.stop();
  });

  it("a subscriber on one replica receives what both commit, live, with no gap and no duplicate", async (t) => {
    if (skip) return t.skip(skip);
    await book(one, 10);
    const subscription = subscribeGrpc(one.grpcAddress, { start: { case: "fromStart", value: true } });
    await Promise.all([book(one, 100), book(two, 100)]);
    // Two events a booking: RoomBooked and its room's NightsReserved.
    await subscription.until("420 events", (m) => eventsOf(m).length >= 420);
    // The other replica's commits arrive by notification, well before the polling fallback would matter.
    // Timed from the commit's acknowledgement, so a slow call on a loaded machine does not count.
    await book(two, 1);
    const committed = Date.now();
    await subscription.until("one more booking", (m) => eventsOf(m).length >= 422);
    const latencyMs = Date.now() - committed;
    subscription.cancel();
    assert.deepEqual(subscription.positions(), await storedPositions(one));
    assert.ok(latencyMs < 900, `the other replica's event took ${latencyMs} ms`);
  });
});


describe("Subscribe: keepalive finds a client that vanished", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ KEEPALIVE_TIME_MS: "300", KEEPALIVE_TIMEOUT_MS: "300" });
  });
  after(async () => server?.dispose());

  for (const port of ["gRPC", "HTTP"] as const) {
    it(`on the ${port} port: a connection whose client stops answering pings is closed, and its subscription ends`, async () => {
      // The client talks through a relay that can go silent, as a peer behind a dead network path would.
      let silent = false;
      const relay = net.createServer((client) => {
        const upstream = net.connect(port === "gRPC" ? server.grpcPort : server.httpPort, "127.0.0.1");
        client.on("data", (chunk) => silent || upstream.write(chunk));
        upstream.on("data", (chunk) => silent || client.write(chunk));
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on("error", close);
        upstream.on("error", close);
        upstream.on("close", close);
      });
      await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
      const relayPort = (relay.address() as net.AddressInfo).port;
      const ended = () => server.logs.filter((l) => l.method === "/switchyard.eventstore.v1.EventStoreService/Subscribe" && l.rpc === "grpc").length;
      const before = ended();
      const session = http2.connect(`http://127.0.0.1:${relayPort}`);
      session.on("error", () => undefined);
      const request = session.request({ ":method": "POST", ":path": "/switchyard.eventstore.v1.EventStoreService/Subscribe", "content-type": "application/grpc", te: "trailers" });
      request.on("error", () => undefined);
      request.end(Buffer.from([0, 0, 0, 0, 0])); // an empty SubscribeRequest: from the start
      await new Promise<void>((resolve) => request.once("data", () => resolve()));
      silent = true;
      await eventually("the server to end the subscription of the silent client", async () => ended() > before, 5_000);
      session.destroy();
      relay.close();
    });
  }
});

describe("Subscribe: a subscriber that stays too far behind", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ SUBSCRIPTION_MAX_LAG: "100", SUBSCRIPTION_LAG_TIMEOUT_MS: "500" });
  });
  after(async () => server?.dispose());

  it("is ended with RESOURCE_EXHAUSTED, SUBSCRIBER_TOO_SLOW and the position to resume from, even while it reads nothing", async () => {
    const subscription = subscribeGrpc(server.grpcAddress, { start: { case: "fromNow", value: true } });
    await subscription.until("caught up", has("caughtUp"));
    subscription.pause();
    await appendBlobs(server.databasePath, 3_000, "lag", "Lagging");
    await eventually("the server to end the lagging subscription", async () => server.logs.some((l) => l.method === "/switchyard.eventstore.v1.EventStoreService/Subscribe" && l.code === "ResourceExhausted"), 10_000);
    subscription.resume();
    const ended = await subscription.ended;
    assert.ok(ended !== "ok");
    assert.equal(ended.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(ended.errorInfo?.reason, "SUBSCRIBER_TOO_SLOW");
    assert.equal(Number(ended.errorInfo?.metadata.resumeAfterPosition), subscription.positions().at(-1));
    assert.ok(subscription.positions().length < 3_000, "ended before it caught up");
  });
});

describe("Subscribe: streams end with a status in the cases the fuzz suite found", () => {
  let server: ServerProcess;
  const subscribePath = "/switchyard.eventstore.v1.EventStoreService/Subscribe";
  const fromStart = () => toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, { start: { case: "fromStart", value: true } }));
  before(async () => {
    server = await startServerProcess();
    // Enough for a catch-up that outlasts a short deadline.
    await appendBlobs(server.databasePath, 3_000, "fuzz-found", "Seeded");
  });
  after(async () => server?.dispose());

  it("on the gRPC port, a grpc-timeout that passes mid catch-up ends the call DEADLINE_EXCEEDED, four calls on a connection at a time", async () => {
    // grpc-js's own timer used to end such a stream under its buffered writes: no status, no RST_STREAM.
    const ended: string[] = [];
    for (const deadlineMs of [150, 220, 290, 360, 430, 500]) {
      const session = http2.connect(`http://${server.grpcAddress}`);
      try {
        const outcomes = await Promise.all(
          Array.from({ length: 4 }, () => h2GrpcStream(session, subscribePath, frame(fromStart()), { waitMs: 5_000, headers: { "grpc-timeout": `${deadlineMs}m` } })),
        );
        ended.push(...outcomes.map((o) => `${deadlineMs} ms: ${o.cut ? "still open after 5 s" : grpc.status[o.code]}`));
      } finally {
        session.close();
      }
    }
    assert.deepEqual(
      ended.filter((e) => !e.endsWith("DEADLINE_EXCEEDED")),
      [],
    );
  });

  it("on the HTTP port, a Connect streaming request that does not decode is INVALID_ARGUMENT (MALFORMED_REQUEST), as binary and as JSON with invalid UTF-8", async () => {
    const undecodable = await fetchStream(server.httpUrl, subscribePath, frame(Buffer.from([0x0a, 0xff, 0xff, 0xff])), "application/connect+proto", { waitMs: 5_000 });
    assert.equal(undecodable.code, grpc.status.INVALID_ARGUMENT, undecodable.message);
    assert.equal(undecodable.errorInfo?.reason, "MALFORMED_REQUEST");
    const notUtf8 = await fetchStream(server.httpUrl, subscribePath, frame(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), "application/connect+json", { waitMs: 5_000 });
    assert.equal(notUtf8.code, grpc.status.INVALID_ARGUMENT, notUtf8.message);
    assert.match(notUtf8.message, /not valid UTF-8/);
  });

  it("on the HTTP port, reflection over gRPC (h2c) answers a request frame that does not decode with INVALID_ARGUMENT", async () => {
    const session = http2.connect(server.httpUrl);
    try {
      const outcome = await h2GrpcStream(session, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", frame(Buffer.from([0x22, 0xff, 0xff, 0xff])), { waitMs: 5_000 });
      assert.equal(outcome.code, grpc.status.INVALID_ARGUMENT, outcome.message);
    } finally {
      session.close();
    }
  });

  it("a Subscribe its HTTP/1.1 client cuts mid catch-up is not logged as the server's failure", async () => {
    const logged = server.logs.length;
    const cut = await fetchStream(server.httpUrl, subscribePath, frame(fromStart()), "application/connect+proto", { want: 10 });
    assert.ok(cut.cut, `the client cut the stream after 10 messages (${cut.message})`);
    await eventually("the server to log the call's end", async () => server.logs.slice(logged).some((l) => l.method === subscribePath), 5_000);
    const failures = server.logs.slice(logged).filter((l) => l.msg === "handler failed" || (typeof l.level === "number" && l.level >= 50));
    assert.deepEqual(failures, []);
  });
});
