import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { explorerAssets } from "../../src/edge/explorer-assets.js";
import { startHttpServer, type HttpServer } from "../../src/edge/http-server.js";

/** The event store's file descriptor as its generated code embeds it (base64), to find in the bundle. */
const EVENT_STORE_DESCRIPTOR = /fileDesc\("([^"]+)"/.exec(
  readFileSync(join(import.meta.dirname, "..", "..", "src", "gen", "switchyard", "eventstore", "v1", "eventstore_pb.ts"), "utf8"),
)![1];

/** GET over cleartext HTTP/2 (prior knowledge), as a Connect client in Node would reach the port. */
async function h2Get(baseUrl: string, path: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  const session = http2.connect(baseUrl);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ":path": path });
      let body = "";
      let headers: http2.IncomingHttpHeaders = {};
      stream.setEncoding("utf8");
      stream.on("response", (h) => (headers = h));
      stream.on("data", (chunk: string) => (body += chunk));
      stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, body }));
      stream.on("error", reject);
    });
  } finally {
    session.close();
  }
}

describe("the explorer page on the HTTP port", { timeout: 30_000 }, () => {
  let server: HttpServer;
  let bare: HttpServer;
  let baseUrl: string;
  const failures: unknown[] = [];

  before(async () => {
    const common = { host: "127.0.0.1", port: 0, routes: () => {}, probes: { live: () => true, ready: () => true } };
    [server, bare] = await Promise.all([
      startHttpServer({ ...common, plainHttp: [explorerAssets({ onBuildFailure: (error) => failures.push(error) }).answer] }),
      startHttpServer(common),
    ]);
    baseUrl = `http://127.0.0.1:${server.port}`;
  });
  after(() => Promise.all([server.close(100), bare.close(100)]));

  it("serves the page at / over HTTP/1.1, locked to its own origin", async () => {
    const res = await fetch(`${baseUrl}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/explorer\/app\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="\/explorer\/style\.css">/);
  });

  it("serves the script bundled from the generated Connect client, over h2c too", async () => {
    const res = await h2Get(baseUrl, "/explorer/app.js");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/javascript; charset=utf-8");
    assert.ok(res.body.includes(EVENT_STORE_DESCRIPTOR), "the bundle holds the generated event store client");
    assert.ok(res.body.includes("application/connect+json"), "and connect-web's Connect transport");
    assert.ok(!/^\s*import\s/m.test(res.body), "the bundle imports nothing at run time");
    assert.deepEqual(failures, []);
  });

  it("answers HEAD with the length and no body, and an unknown explorer path with 404", async () => {
    const head = await fetch(`${baseUrl}/explorer/style.css`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.ok(Number(head.headers.get("content-length")) > 0);
    assert.equal(await head.text(), "");
    for (const path of ["/explorer/main.ts", "/explorer/..%2Findex.html", "/explorer/index.html"]) {
      assert.equal((await fetch(`${baseUrl}${path}`)).status, 404, path);
    }
    const folder = await fetch(`${baseUrl}/explorer/`);
    assert.deepEqual([folder.status, folder.headers.get("content-type")], [200, "text/html; charset=utf-8"], "the page under its own folder too");
  });

  it("leaves the probes, Connect routes and other methods to the rest of the server", async () => {
    assert.equal(await (await fetch(`${baseUrl}/healthz`)).text(), "ok\n");
    const connectPath = await fetch(`${baseUrl}/switchyard.eventstore.v1.EventStoreService/ReadAll`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(connectPath.headers.get("content-security-policy"), null, "a Connect path is not the explorer's");
    const post = await fetch(`${baseUrl}/`, { method: "POST", body: "{}" });
    assert.equal(post.headers.get("content-security-policy"), null, "only GET and HEAD reach the page");
  });

  it("is not served when the server has no explorer (EXPLORER=off)", async () => {
    const res = await fetch(`http://127.0.0.1:${bare.port}/`);
    assert.notEqual(res.status, 200);
    assert.equal(res.headers.get("content-security-policy"), null);
  });
});
