import type * as http from "node:http";
import type * as http2 from "node:http2";
import { ConnectError } from "@connectrpc/connect";
import type { Authenticate } from "./call-lifecycle.js";
import { CLIENT_SUBJECT_HEADER, type PlainHttpHandler } from "./http-server.js";

/** What GET /metrics needs. */
export interface MetricsEndpointOptions {
  /** The Prometheus text of this process. */
  readonly scrape: () => Promise<{ contentType: string; body: string }>;
  /** The API's authentication; absent when the metrics are public (METRICS_PUBLIC=true). */
  readonly authenticate?: Authenticate;
}

/**
 * GET /metrics on the HTTP port, for Prometheus. Behind the API's own authentication (a
 * bearer token, or a client certificate with mTLS) unless the metrics are public: a caller
 * it refuses gets 401 with the reason, as a gRPC caller would get UNAUTHENTICATED.
 */
export function metricsEndpoint(options: MetricsEndpointOptions): PlainHttpHandler {
  return (req, res) => {
    if (req.url?.split("?", 1)[0] !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) return false;
    void answer(req, res, options);
    return true;
  };
}

async function answer(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse, options: MetricsEndpointOptions): Promise<void> {
  const reply = res as http.ServerResponse;
  try {
    if (options.authenticate) {
      const header = (name: string) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      await options.authenticate({ header, peerCertificateSubject: header(CLIENT_SUBJECT_HEADER) });
    }
  } catch (error) {
    const body = `${error instanceof ConnectError ? error.rawMessage : "credentials are required"}\n`;
    reply.writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": "Bearer", "cache-control": "no-store" });
    reply.end(req.method === "HEAD" ? undefined : body);
    return;
  }
  try {
    const { contentType, body } = await options.scrape();
    reply.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
    reply.end(req.method === "HEAD" ? undefined : body);
  } catch {
    reply.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
    reply.end("the metrics could not be collected\n");
  }
}
