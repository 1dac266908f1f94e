import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { ConnectRouter, HandlerContext, Interceptor, Transport } from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { sniffProtocol, startHttpServer, type HttpServer } from "../../src/edge/http-server.js";
import { BookingService, type BookRoomRequest } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandResultSchema, CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";

const run = promisify(execFile); // async: the server lives in this process, so a sync exec would deadlock
const READ_MAX_BYTES = 1024;

/** Test-only BookingService: BookRoom echoes the booking id and the protocol the server saw. */
function bookingRoutes(
  bookRoom: (req: BookRoomRequest, ctx: HandlerContext) => Promise<void> | void = () => {},
): (router: ConnectRouter) => void {
  const unimplemented = () => {
    throw new ConnectError("not in this test", Code.Unimplemented);
  };
  return (router) =>
    router.service(BookingService, {
      async bookRoom(req, ctx) {
        await bookRoom(req, ctx);
        return create(CommandResultSchema, {
          commandType: "booking.BookRoom",
          aggregateId: req.bookingId,
          status: CommandStatus.ACCEPTED,
          message: ctx.protocolName,
        });
      },
      recordPayment: unimplemented,
      cancelBooking: unimplemented,
      getBooking: unimplemented,
    });
}

/** Marks every response, to show `interceptors` reach the handlers. */
const markResponse: Interceptor = (next) => async (req) => {
  const res = await next(req);
  res.header.set("x-edge-test", "seen");
  return res;
};

async function expectConnectError(call: Promise<unknown>, code: Code): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof ConnectError, `expected a ConnectError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.message}`);
    return true;
  });
}

const TIMEOUT = { timeout: 10_000 }; // a hang (e.g. a connection never handed over) fails instead of stalling

describe("http-server: one port, Connect + gRPC-Web + gRPC over HTTP/1.1 and h2c", TIMEOUT, () => {
  let server: HttpServer;
  let baseUrl: string;
  let draining = false;
  const sessionManagers: Http2SessionManager[] = [];

  /** h2c transport with its own session manager, so the test can close its connection. */
  function h2(make: (opts: { baseUrl: string; sessionManager: Http2SessionManager }) => Transport): Transport {
    const sessionManager = new Http2SessionManager(baseUrl);
    sessionManagers.push(sessionManager);
    return make({ baseUrl, sessionManager });
  }

  before(async () => {
    server = await startHttpServer({
      host: "127.0.0.1",
      port: 0,
      routes: bookingRoutes(),
      interceptors: [markResponse],
      readMaxBytes: READ_MAX_BYTES,
      isDraining: () => draining,
    });
    assert.ok(server.port > 0);
    baseUrl = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    for (const manager of sessionManagers) manager.abort();
    await server.close(500);
  });

  it("1. serves Connect JSON over HTTP/1.1 to plain fetch", async () => {
    const res = await fetch(`${baseUrl}/booking.v1.BookingService/BookRoom`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ bookingId: "B1" }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(res.headers.get("x-edge-test"), "seen");
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.aggregateId, "B1");
    assert.equal(body.commandType, "booking.BookRoom");
    assert.equal(body.status, "COMMAND_STATUS_ACCEPTED");
    assert.equal(body.message, "connect");
  });

  it("2. serves Connect JSON over HTTP/1.1 to curl", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "--http1.1",
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "--data",
      JSON.stringify({ bookingId: "B2" }),
      "-w",
      "\n%{http_code} %{http_version}",
      `${baseUrl}/booking.v1.BookingService/BookRoom`,
    ]);
    const [body, status] = stdout.split("\n");
    assert.equal(status, "200 1.1");
    const json = JSON.parse(body) as Record<string, unknown>;
    assert.equal(json.aggregateId, "B2");
    assert.equal(json.commandType, "booking.BookRoom");
  });

  for (const useBinaryFormat of [true, false]) {
    it(`3. serves Connect ${useBinaryFormat ? "binary" : "JSON"} over h2c`, async () => {
      const transport = h2((o) => createConnectTransport({ ...o, httpVersion: "2", useBinaryFormat }));
      const client = createClient(BookingService, transport);
      let header: Headers | undefined;
      const res = await client.bookRoom({ bookingId: "B3" }, { onHeader: (h) => (header = h) });
      assert.equal(res.aggregateId, "B3");
      assert.equal(res.commandType, "booking.BookRoom");
      assert.equal(res.status, CommandStatus.ACCEPTED);
      assert.equal(res.message, "connect");
      assert.match(header?.get("content-type") ?? "", useBinaryFormat ? /^application\/proto/ : /^application\/json/);
      await expectConnectError(client.getBooking({ bookingId: "B3" }), Code.Unimplemented);
    });
  }

  it("4. serves gRPC over h2c", async () => {
    const client = createClient(BookingService, h2((o) => createGrpcTransport(o)));
    const res = await client.bookRoom({ bookingId: "B4" });
    assert.equal(res.aggregateId, "B4");
    assert.equal(res.message, "grpc");
    await expectConnectError(client.cancelBooking({ bookingId: "B4" }), Code.Unimplemented);
  });

  it("5. serves gRPC-Web over HTTP/1.1", async () => {
    const transport = createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
    const client = createClient(BookingService, transport);
    const res = await client.bookRoom({ bookingId: "B5" });
    assert.equal(res.aggregateId, "B5");
    assert.equal(res.message, "grpc-web");
    await expectConnectError(client.recordPayment({ bookingId: "B5" }), Code.Unimplemented);
  });

  it("6. answers a request over readMaxBytes with ResourceExhausted and keeps serving", async () => {
    const huge = "x".repeat(READ_MAX_BYTES * 4);
    const clients = {
      "connect h1 json": createClient(BookingService, createConnectTransport({ baseUrl, httpVersion: "1.1" })),
      "connect h2 binary": createClient(
        BookingService,
        h2((o) => createConnectTransport({ ...o, httpVersion: "2", useBinaryFormat: true })),
      ),
      "grpc h2": createClient(BookingService, h2((o) => createGrpcTransport(o))),
      "grpc-web h1": createClient(BookingService, createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })),
    };
    for (const [name, client] of Object.entries(clients)) {
      await expectConnectError(client.bookRoom({ bookingId: huge }), Code.ResourceExhausted).catch((err) => {
        throw new Error(`${name}: ${String(err)}`);
      });
      const ok = await client.bookRoom({ bookingId: "B6" });
      assert.equal(ok.aggregateId, "B6", name);
    }
  });

  it("7. fails new calls with Unavailable while draining", async () => {
    const h1Client = createClient(BookingService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    const grpcClient = createClient(BookingService, h2((o) => createGrpcTransport(o)));
    assert.equal((await h1Client.bookRoom({ bookingId: "B7" })).aggregateId, "B7");
    draining = true;
    try {
      await expectConnectError(h1Client.bookRoom({ bookingId: "B7" }), Code.Unavailable);
      await expectConnectError(grpcClient.bookRoom({ bookingId: "B7" }), Code.Unavailable);
    } finally {
      draining = false;
    }
    assert.equal((await grpcClient.bookRoom({ bookingId: "B7" })).aggregateId, "B7");
  });

  it("9. sniffs the protocol when the first bytes arrive split across packets", async () => {
    // h2: the preface in three writes; the server must answer with its SETTINGS frame.
    const h2Reply = await rawExchange(server.port, [
      H2_PREFACE.subarray(0, 3),
      H2_PREFACE.subarray(3, 20),
      Buffer.concat([H2_PREFACE.subarray(20), EMPTY_SETTINGS_FRAME]),
    ]);
    assert.ok(h2Reply.length >= 9, "server sent no HTTP/2 frame");
    assert.equal(h2Reply[3], 0x4, "first frame from the server is SETTINGS");
    // h1: "P" is a prefix of the preface, so the server must wait before choosing HTTP/1.1.
    const request = "POST /booking.v1.BookingService/BookRoom HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 18\r\nConnection: close\r\n\r\n{\"bookingId\":\"B9\"}";
    const h1Reply = (await rawExchange(server.port, [request.slice(0, 1), request.slice(1, 2), request.slice(2)])).toString();
    assert.match(h1Reply, /^HTTP\/1\.1 200 /);
    assert.match(h1Reply, /"aggregateId":"B9"/);
    // Bytes that share the preface's first letters, then diverge, still go to HTTP/1.1 (whose parser
    // rejects the "PRI" method with a 400; an HTTP/2 session would answer with binary frames).
    const pri = (await rawExchange(server.port, ["PRI", " /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])).toString();
    assert.match(pri, /^HTTP\/1\.1 \d{3} /);
  });
});

describe("http-server: sniffProtocol", () => {
  it("decides on the prefix so far", () => {
    assert.equal(sniffProtocol(Buffer.from("")), undefined);
    assert.equal(sniffProtocol(Buffer.from("PRI * HTTP/2")), undefined);
    assert.equal(sniffProtocol(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")), "h2");
    assert.equal(sniffProtocol(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04")), "h2");
    assert.equal(sniffProtocol(Buffer.from("P")), undefined);
    assert.equal(sniffProtocol(Buffer.from("PO")), "h1");
    assert.equal(sniffProtocol(Buffer.from("GET / HTTP/1.1\r\n")), "h1");
    assert.equal(sniffProtocol(Buffer.from("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n")), "h1");
  });
});

describe("http-server: close()", TIMEOUT, () => {
  it("8. resolves within ~2 s with an h2 session, a stuck h2 call and an idle HTTP/1.1 connection open", async () => {
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    let handlerAborted = false;
    const server = await startHttpServer({
      host: "127.0.0.1",
      port: 0,
      routes: bookingRoutes(async (req, ctx) => {
        if (req.bookingId !== "stuck") return;
        entered();
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
        handlerAborted = true;
      }),
    });
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const manager = new Http2SessionManager(baseUrl);
    const rawSession = http2.connect(baseUrl);
    const agent = new http.Agent({ keepAlive: true });
    try {
      // An idle, connected h2 session (raw, so nothing on the client side closes it for us).
      rawSession.on("error", () => {});
      await once(rawSession, "connect");
      const rawClosed = once(rawSession, "close");
      // An idle keep-alive HTTP/1.1 connection.
      let h1Socket: net.Socket | undefined;
      const h1Res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http
          .get(`${baseUrl}/nope`, { agent }, resolve)
          .on("socket", (s) => (h1Socket = s))
          .on("error", reject),
      );
      h1Res.resume();
      await once(h1Res, "end");
      assert.equal(h1Res.statusCode, 404);
      await sleep(10); // the agent parks the socket as free
      assert.ok(h1Socket && !h1Socket.destroyed, "keep-alive socket is open");
      const h1Closed = once(h1Socket, "close");
      // A call the handler never finishes by itself.
      const client = createClient(
        BookingService,
        createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: manager }),
      );
      const stuck = client.bookRoom({ bookingId: "stuck" });
      stuck.catch(() => {}); // asserted below
      await handlerEntered;

      const graceMs = 400;
      const started = performance.now();
      const closing = server.close(graceMs);
      const timeout = sleep(2000, "timeout" as const, { ref: false });
      assert.notEqual(await Promise.race([closing.then(() => "closed" as const), timeout]), "timeout");
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= graceMs - 50, `close waited ${elapsed} ms, less than the grace period`);
      assert.ok(elapsed < 2000, `close took ${elapsed} ms`);

      await Promise.race([Promise.all([rawClosed, h1Closed]), sleep(1000, undefined, { ref: false }).then(() => assert.fail("client connections stayed open"))]);
      await assert.rejects(stuck);
      assert.ok(handlerAborted, "the stuck handler saw its signal abort");
      await assert.rejects(
        fetch(`${baseUrl}/booking.v1.BookingService/BookRoom`, { method: "POST" }),
        "the port no longer accepts connections",
      );
    } finally {
      manager.abort();
      rawSession.destroy();
      agent.destroy();
      await server.close(0);
    }
  });

  it("10. lets a call in flight finish within the grace period, then resolves without waiting it out", async () => {
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    const server = await startHttpServer({
      host: "127.0.0.1",
      port: 0,
      routes: bookingRoutes(async () => {
        entered();
        await sleep(150);
      }),
    });
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const manager = new Http2SessionManager(baseUrl);
    try {
      const client = createClient(BookingService, createGrpcTransport({ baseUrl, sessionManager: manager }));
      const call = client.bookRoom({ bookingId: "B10" });
      await handlerEntered;
      const started = performance.now();
      await server.close(5000);
      const elapsed = performance.now() - started;
      assert.equal((await call).aggregateId, "B10");
      assert.ok(elapsed < 1500, `close took ${elapsed} ms; it should end when the last call does`);
    } finally {
      manager.abort();
      await server.close(0);
    }
  });
});

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const EMPTY_SETTINGS_FRAME = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);

/** Writes `parts` with pauses between them, then collects what the server sends for up to 300 ms. */
/** Sends `parts` apart, then waits (up to 5 s) for the server to close or to have sent a whole frame header. */
async function rawExchange(port: number, parts: (string | Buffer)[]): Promise<Buffer> {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.setNoDelay(true);
  const received: Buffer[] = [];
  let enough!: () => void;
  const frameHeader = new Promise<void>((resolve) => (enough = resolve));
  socket.on("data", (chunk: Buffer) => {
    received.push(chunk);
    // An h2 session never closes by itself: its first frame's 9-byte header is the answer ("H" starts an HTTP/1.1 one).
    const bytes = Buffer.concat(received);
    if (bytes.length >= 9 && bytes[0] !== 0x48) enough();
  });
  const ended = once(socket, "close");
  for (const part of parts) {
    socket.write(part);
    await sleep(30);
  }
  await Promise.race([ended, frameHeader, sleep(5000, undefined, { ref: false })]);
  socket.destroy();
  return Buffer.concat(received);
}

describe("plain-HTTP probes", () => {
  it("answers GET /healthz while the process runs and GET /readyz by readiness, over HTTP/1.1 and h2c", async () => {
    let ready = true;
    const server = await startHttpServer({ host: "127.0.0.1", port: 0, routes: bookingRoutes(), probes: { live: () => true, ready: () => ready } });
    try {
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          http.get({ host: "127.0.0.1", port: server.port, path }, (res) => {
            let body = "";
            res.on("data", (chunk) => (body += chunk));
            res.on("end", () => resolve({ status: res.statusCode!, body }));
          }).on("error", reject);
        });
      assert.deepEqual(await get("/healthz"), { status: 200, body: "ok\n" });
      assert.deepEqual(await get("/readyz"), { status: 200, body: "ok\n" });
      ready = false;
      assert.deepEqual(await get("/readyz"), { status: 503, body: "not serving\n" });
      assert.deepEqual(await get("/healthz"), { status: 200, body: "ok\n" });
      const session = http2.connect(`http://127.0.0.1:${server.port}`);
      const request = session.request({ ":path": "/readyz" });
      const [headers] = (await once(request, "response")) as [http2.IncomingHttpHeaders];
      request.resume();
      await once(request, "end");
      session.close();
      assert.equal(headers[":status"], 503);
    } finally {
      await server.close(100);
    }
  });
});
