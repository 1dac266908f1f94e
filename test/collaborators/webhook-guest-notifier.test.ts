import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { WebhookError, webhookGuestNotifier } from "../../src/collaborators/webhook-guest-notifier.js";
import type { BookingConfirmedNotice } from "../../src/domain/booking/index.js";

const notice: BookingConfirmedNotice = {
  tenant: "default",
  bookingId: "B1",
  guestId: "G1",
  roomId: "R101",
  checkIn: "2026-06-01",
  checkOut: "2026-06-04",
  confirmedAt: "2026-05-01T12:00:00.000Z",
};

/** A real HTTP receiver whose answers each test scripts: a status, or a delay before answering. */
describe("webhook GuestNotifier against a local HTTP server", () => {
  let server: Server;
  let url: string;
  let received: Array<{ headers: IncomingMessage["headers"]; body: string; at: number }>;
  let answer: (n: number, res: ServerResponse) => void;

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        received.push({ headers: req.headers, body, at: Date.now() });
        answer(received.length, res);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  beforeEach(() => {
    received = [];
    answer = (_, res) => res.writeHead(204).end();
  });

  const call = (attempts: number, timeoutMs = 2000) =>
    webhookGuestNotifier({ url, timeoutMs, attempts, firstBackoffMs: 20 }).bookingConfirmed(notice, { idempotencyKey: "react:e1:1", signal: new AbortController().signal });

  it("POSTs the notice as JSON with its idempotency key", async () => {
    await call(3);
    assert.equal(received.length, 1);
    assert.equal(received[0].headers["content-type"], "application/json");
    assert.equal(received[0].headers["idempotency-key"], "react:e1:1");
    assert.deepEqual(JSON.parse(received[0].body), { event: "BookingConfirmed", notice });
  });

  it("retries 5xx and 429 answers with growing waits, then succeeds", async () => {
    answer = (n, res) => res.writeHead(n === 1 ? 503 : n === 2 ? 429 : 200).end();
    await call(3);
    assert.equal(received.length, 3);
    // Waits are randomized between 1x and 2x their floor (20 ms, then 40 ms), so only the floors are certain.
    const [firstWait, secondWait] = [received[1].at - received[0].at, received[2].at - received[1].at];
    assert.ok(firstWait >= 19, `the first wait took ${firstWait} ms, under its 20 ms floor`);
    assert.ok(secondWait >= 39, `the second wait took ${secondWait} ms, under its 40 ms floor: the waits do not grow`);
    assert.deepEqual(new Set(received.map((r) => r.headers["idempotency-key"])), new Set(["react:e1:1"]));
  });

  it("gives up after its attempts with WEBHOOK_UNREACHABLE and the last status", async () => {
    answer = (_, res) => res.writeHead(500).end();
    await assert.rejects(call(3), (error: unknown) => error instanceof WebhookError && error.reason === "WEBHOOK_UNREACHABLE" && error.status === 500);
    assert.equal(received.length, 3);
  });

  it("does not retry a 4xx refusal: WEBHOOK_REFUSED", async () => {
    answer = (_, res) => res.writeHead(400).end();
    await assert.rejects(call(3), (error: unknown) => error instanceof WebhookError && error.reason === "WEBHOOK_REFUSED" && error.status === 400);
    assert.equal(received.length, 1);
  });

  it("cuts a POST that gets no answer within the timeout, and tries again", async () => {
    answer = (n, res) => (n === 1 ? setTimeout(() => res.writeHead(200).end(), 1500) : res.writeHead(200).end());
    const started = Date.now();
    await call(2, 200);
    assert.equal(received.length, 2);
    assert.ok(Date.now() - started < 1400, "the slow answer was not waited for");
  });

  it("names the URL and the timeout when every POST times out", async () => {
    answer = (_, res) => setTimeout(() => res.writeHead(200).end(), 1000);
    await assert.rejects(call(2, 100), (error: unknown) => error instanceof WebhookError && error.reason === "WEBHOOK_UNREACHABLE" && /no answer within 100 ms/.test(error.message));
  });

  it("cannot reach a closed port: WEBHOOK_UNREACHABLE after its attempts", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const notifier = webhookGuestNotifier({ url: `http://127.0.0.1:${port}/`, timeoutMs: 500, attempts: 2, firstBackoffMs: 10 });
    await assert.rejects(notifier.bookingConfirmed(notice, { idempotencyKey: "k", signal: new AbortController().signal }), (error: unknown) => error instanceof WebhookError && error.reason === "WEBHOOK_UNREACHABLE");
  });
});
