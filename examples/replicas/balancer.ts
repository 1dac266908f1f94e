// A plain HTTP load balancer for the example: round robin over the replicas' HTTP ports, as
// nginx or a cloud balancer would do it, built on http2-proxy (which forwards the request and
// streams the response back, server streaming included).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import proxy from "http2-proxy";

/** The response header that names the replica the balancer sent a request to. */
export const SERVED_BY = "x-served-by";

/** A running balancer. */
export interface Balancer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens on a free loopback port and sends each HTTP/1.1 request to the next of `upstreams`
 * ("127.0.0.1:8080", …) in turn, naming it in the {@link SERVED_BY} response header. An
 * upstream that cannot be reached answers 502 or 503.
 */
export async function startBalancer(upstreams: readonly string[]): Promise<Balancer> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const upstream = upstreams[next++ % upstreams.length];
    const [hostname, port] = upstream.split(":");
    res.setHeader(SERVED_BY, upstream);
    proxy.web(req, res, { hostname, port: Number(port) }, (error) => {
      if (!error) return;
      if (!res.headersSent) res.writeHead((error as { statusCode?: number }).statusCode ?? 502).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
