import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectAdapter } from "./connect-adapter.js";

/** Options for {@link startHttpServer}. */
export interface HttpServerOptions {
  /** Interface to bind, e.g. "127.0.0.1" or "0.0.0.0". */
  host: string;
  /** TCP port; 0 picks an ephemeral port (read it back from {@link HttpServer.port}). */
  port: number;
  /** Registers the services, e.g. `(router) => router.service(BookingService, impl)`. */
  routes: (router: ConnectRouter) => void;
  /** Server interceptors, applied to every call after the draining check. */
  interceptors?: Interceptor[];
  /** Largest accepted request message in bytes (after decompression); larger ones get ResourceExhausted. */
  readMaxBytes?: number;
  /** Returns true while the server drains; new calls then fail with Code.Unavailable. */
  isDraining?: () => boolean;
  /** How long a new connection may take to send its first bytes before it is dropped. Default 10 s. */
  firstBytesTimeoutMs?: number;
  /** How often each HTTP/2 connection is pinged, and how long a ping may go unanswered before it is closed. */
  keepalive?: { timeMs: number; timeoutMs: number };
  /** Plain-HTTP probes for load balancers and Kubernetes: GET /healthz (live) and GET /readyz (ready to serve). */
  probes?: { live: () => boolean; ready: () => boolean };
  /** Serve TLS instead of cleartext (HTTP/1.1 and HTTP/2 chosen by ALPN); `ca` requires client certificates. */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** Plain HTTP handlers (GET /metrics, the explorer page at `/`), tried in order after the probes and before the RPC routes, on paths no RPC can have. */
  plainHttp?: readonly PlainHttpHandler[];
}

/** Answers a plain HTTP request it recognises and returns true, or returns false and leaves it alone. */
export type PlainHttpHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => boolean;

/**
 * Request header through which the verified client certificate's subject reaches the
 * handlers. Whatever a caller sends under this name is removed first, so only the TLS
 * layer can set it.
 */
export const CLIENT_SUBJECT_HEADER = "x-switchyard-client-subject";

/** Removes any caller-supplied client subject and, on a TLS connection with a verified certificate, sets the real one. */
function stampClientSubject(req: http.IncomingMessage | http2.Http2ServerRequest): void {
  delete req.headers[CLIENT_SUBJECT_HEADER];
  const socket = req.socket as tls.TLSSocket;
  if (typeof socket.getPeerCertificate !== "function" || !socket.authorized) return;
  const subject = socket.getPeerCertificate()?.subject as Record<string, string> | undefined;
  if (subject) req.headers[CLIENT_SUBJECT_HEADER] = formatSubject(subject);
}

/**
 * A certificate subject as "CN=svc,O=acme": one `key=value` per attribute value, with `\` and
 * `,` inside values escaped by `\`, so no value can pose as another attribute (a common name
 * "svc,O=acme" becomes `CN=svc\,O=acme`, not a second O).
 */
export function formatSubject(subject: Record<string, string | string[]>): string {
  return Object.entries(subject)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((value) => `${k}=${String(value).replace(/[\\,]/g, "\\$&")}`))
    .join(",");
}

/** Answers GET /healthz and /readyz; false when the request is not a probe. */
function answerProbe(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse, probes: HttpServerOptions["probes"]): boolean {
  if (!probes || (req.method !== "GET" && req.method !== "HEAD")) return false;
  const path = req.url?.split("?", 1)[0];
  const check = path === "/healthz" ? probes.live : path === "/readyz" ? probes.ready : undefined;
  if (!check) return false;
  const ok = check();
  const body = ok ? "ok\n" : "not serving\n";
  (res as http.ServerResponse).writeHead(ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  if (req.method === "HEAD") res.end();
  else res.end(body);
  return true;
}

/**
 * Pings an HTTP/2 connection every `timeMs` and closes it when a ping goes unanswered for
 * `timeoutMs`: a client that vanished without a FIN would otherwise hold its streams forever.
 */
function keepAlive(session: http2.ServerHttp2Session, keepalive: HttpServerOptions["keepalive"]): void {
  if (!keepalive) return;
  const timer = setInterval(() => {
    const unanswered = setTimeout(() => session.destroy(), keepalive.timeoutMs);
    unanswered.unref();
    const sent = session.ping((error) => {
      clearTimeout(unanswered);
      if (error && !session.destroyed) session.destroy();
    });
    if (!sent) clearTimeout(unanswered);
  }, keepalive.timeMs);
  timer.unref();
  session.once("close", () => clearInterval(timer));
}

/** A running server; one TCP port serving HTTP/1.1 and cleartext HTTP/2. */
export interface HttpServer {
  /** The bound port (the ephemeral one when `port: 0` was asked for). */
  readonly port: number;
  /**
   * Stops accepting connections, asks open ones to finish (HTTP/2 GOAWAY, HTTP/1.1 keep-alive
   * closed after the current response), and after `graceMs` (default 5000) destroys whatever is
   * still open. Resolves once every connection is gone. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Sniffs the first bytes seen so far: "h2" once the whole preface arrived, "h1" as soon as they
 * diverge from it, undefined while they are still a strict prefix of it (wait for more).
 */
export function sniffProtocol(head: Buffer): "h1" | "h2" | undefined {
  const n = Math.min(head.length, H2_PREFACE.length);
  if (head.subarray(0, n).compare(H2_PREFACE, 0, n) !== 0) return "h1";
  return head.length >= H2_PREFACE.length ? "h2" : undefined;
}

/**
 * Serves the Connect routes on one TCP port for the Connect protocol (JSON and binary), gRPC-Web
 * and gRPC, over HTTP/1.1 and over cleartext HTTP/2 with prior knowledge. A request asking for
 * `Upgrade: h2c` is simply answered over HTTP/1.1. Resolves once the port is bound.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const isDraining = options.isDraining;
  const drainGate: Interceptor = (next) => async (req) => {
    if (isDraining?.()) throw new ConnectError("server is shutting down", Code.Unavailable);
    return next(req);
  };
  const handler = connectAdapter({
    routes: options.routes,
    interceptors: [drainGate, ...(options.interceptors ?? [])],
    ...(options.readMaxBytes !== undefined ? { readMaxBytes: options.readMaxBytes } : {}),
    grpc: true,
    grpcWeb: true,
    connect: true,
  });

  if (options.tls) return startTlsServer(options, handler);

  let closing = false;
  const sockets = new Set<net.Socket>();
  const sniffing = new Set<net.Socket>(); // accepted, first bytes not yet seen
  const sessions = new Set<http2.ServerHttp2Session>();

  // The http.Server owns the port, so its own connection tracking (headersTimeout, requestTimeout,
  // closeIdleConnections) works: a never-listening http.Server fed with emit("connection") has none.
  // Its accept listener is swapped for the sniffer, which hands HTTP/1.1 sockets back to it.
  const h1 = http.createServer((req, res) => {
    if (closing) res.shouldKeepAlive = false; // answer, then close the connection
    if (answerProbe(req, res, options.probes)) return;
    stampClientSubject(req);
    if (options.plainHttp?.some((answer) => answer(req, res))) return;
    handler(req, res);
  });
  const h1Accept = h1.listeners("connection");
  if (h1Accept.length !== 1) throw new Error("http.Server no longer accepts through one 'connection' listener");
  const acceptHttp1 = h1Accept[0] as (socket: net.Socket) => void;
  h1.removeAllListeners("connection");

  const h2 = http2.createServer((req, res) => {
    if (answerProbe(req, res, options.probes)) return;
    stampClientSubject(req);
    if (options.plainHttp?.some((answer) => answer(req, res))) return;
    handler(req, res);
  });
  h2.on("session", (session) => {
    sessions.add(session);
    keepAlive(session, options.keepalive);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  h2.on("sessionError", () => {}); // the session is destroyed anyway; nothing to add

  // No npm package sniffs h2c prior knowledge vs HTTP/1.1 on one port, so it is done here.
  const firstBytesTimeoutMs = options.firstBytesTimeoutMs ?? 10_000;
  h1.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => {}); // a reset before or after hand-over: the socket just closes
    if (closing) {
      socket.destroy();
      return;
    }
    sniffing.add(socket);
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      const protocol = sniffProtocol(head);
      if (protocol === undefined) return; // a strict prefix of the preface so far: wait for more
      sniffing.delete(socket);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("timeout", onTimeout);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(head);
      if (protocol === "h2") h2.emit("connection", socket);
      else acceptHttp1.call(h1, socket);
      process.nextTick(() => socket.resume());
    };
    const onEnd = () => socket.destroy();
    const onTimeout = () => socket.destroy();
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("timeout", onTimeout);
    socket.setTimeout(firstBytesTimeoutMs);
  });

  await listen(h1, options.port, options.host);
  const port = (h1.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  const close = (graceMs = 5000): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      closing = true;
      // HTTP/1.1 connections whose response finished become idle; close them as they do.
      const idleSweep = setInterval(() => h1.closeIdleConnections(), 25);
      const deadline = forceCloseAfter(graceMs, sessions, sockets);
      // Stops accepting and closes idle HTTP/1.1 connections; calls back once every socket, h1 or h2, is gone.
      h1.close(() => {
        clearInterval(idleSweep);
        clearTimeout(deadline);
        resolve();
      });
      for (const session of sessions) session.close(); // GOAWAY; closes once its streams finish
      for (const socket of sniffing) socket.destroy(); // nothing in flight on these yet
    });
    return closed;
  };

  return { port, close };
}

/** Listens on host:port; rejects with the listen error (an address in use, say). */
function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** After graceMs, destroys the HTTP/2 sessions and sockets still open (clearTimeout cancels it). */
function forceCloseAfter(graceMs: number, sessions: Set<http2.ServerHttp2Session>, sockets: Set<net.Socket>): NodeJS.Timeout {
  return setTimeout(() => {
    for (const session of sessions) session.destroy();
    for (const socket of sockets) socket.destroy();
  }, graceMs);
}

/**
 * The TLS variant: Node's secure HTTP/2 server negotiates HTTP/2 or HTTP/1.1 by ALPN, so no
 * sniffing is needed. With a client CA, connections without a certificate it signed are refused.
 */
async function startTlsServer(options: HttpServerOptions, handler: (req: never, res: never) => void): Promise<HttpServer> {
  const { cert, key, ca } = options.tls!;
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  const server = http2.createSecureServer({ allowHTTP1: true, cert, key, ca, requestCert: Boolean(ca), rejectUnauthorized: Boolean(ca) }, (req, res) => {
    if (answerProbe(req, res, options.probes)) return;
    stampClientSubject(req);
    if (options.plainHttp?.some((answer) => answer(req, res))) return;
    handler(req as never, res as never);
  });
  server.on("session", (session) => {
    sessions.add(session);
    keepAlive(session, options.keepalive);
    session.once("close", () => sessions.delete(session));
  });
  server.on("secureConnection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("sessionError", () => {});
  server.on("tlsClientError", () => {});
  await listen(server, options.port, options.host);
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: (graceMs = 5000) =>
      (closed ??= new Promise<void>((resolve) => {
        const deadline = forceCloseAfter(graceMs, sessions, sockets);
        server.close(() => {
          clearTimeout(deadline);
          resolve();
        });
        for (const session of sessions) session.close();
      })),
  };
}
