import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { build } from "esbuild";

/** Where the explorer page's sources live: its HTML, its style sheet and the browser entry point. */
const PAGE_DIR = join(import.meta.dirname, "..", "explorer");

/**
 * The explorer's URL paths. `/` is the page; everything else sits under `/explorer/`, which
 * holds no dot before its first slash and so can never be a Connect route
 * (`/package.Service/Method`), nor a probe (`/healthz`, `/readyz`) or `/metrics`.
 */
export const EXPLORER_PATHS = { page: "/", script: "/explorer/app.js", style: "/explorer/style.css" } as const;

/** One file the explorer serves, ready to send. */
interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** Serves the explorer page and its assets; see {@link explorerAssets}. */
export interface ExplorerAssets {
  /** Answers a GET or HEAD of an explorer path; false when the request is for something else. */
  answer(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): boolean;
}

/**
 * The read-only explorer page on the HTTP port. Its script is bundled from `src/explorer`
 * (the project's own generated Connect client and connect-web) by esbuild on the first
 * request, in memory, so a fresh clone serves it with no build step and a process that
 * nobody browses never pays for the build. A failed build answers 500 and is logged
 * through `onBuildFailure`; the next request tries again.
 */
export function explorerAssets(options: { onBuildFailure?: (error: unknown) => void } = {}): ExplorerAssets {
  let loading: Promise<Map<string, Asset>> | undefined;
  const load = () => {
    loading ??= loadAssets().catch((error: unknown) => {
      loading = undefined;
      options.onBuildFailure?.(error);
      throw error;
    });
    return loading;
  };

  return {
    answer(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") return false;
      const path = req.url?.split("?", 1)[0] ?? "";
      if (path !== EXPLORER_PATHS.page && !path.startsWith("/explorer/")) return false;
      const response = res as http.ServerResponse;
      load().then(
        (assets) => send(response, req.method === "HEAD", assets.get(path)),
        () => send(response, false, undefined, 500),
      );
      return true;
    },
  };
}

/** Reads the page and style sheet, and bundles the script. */
async function loadAssets(): Promise<Map<string, Asset>> {
  const [html, css, bundle] = await Promise.all([
    readFile(join(PAGE_DIR, "index.html")),
    readFile(join(PAGE_DIR, "style.css")),
    build({
      entryPoints: [join(PAGE_DIR, "main.ts")],
      bundle: true,
      write: false,
      format: "esm",
      target: "es2022",
      minify: true,
      legalComments: "none",
      logLevel: "silent",
    }),
  ]);
  return new Map<string, Asset>([
    [EXPLORER_PATHS.page, { body: html, contentType: "text/html; charset=utf-8" }],
    // The page under its own folder too, where its files are.
    ["/explorer/", { body: html, contentType: "text/html; charset=utf-8" }],
    [EXPLORER_PATHS.style, { body: css, contentType: "text/css; charset=utf-8" }],
    [EXPLORER_PATHS.script, { body: Buffer.from(bundle.outputFiles[0].contents), contentType: "text/javascript; charset=utf-8" }],
  ]);
}

/** Sends an asset, a 404 for an unknown explorer path, or the status given. */
function send(res: http.ServerResponse, headOnly: boolean, asset: Asset | undefined, status = asset ? 200 : 404): void {
  if (res.destroyed) return;
  const body = asset?.body ?? Buffer.from(status === 404 ? "not found\n" : "the explorer page could not be built; the server log says why\n");
  res.writeHead(status, {
    "content-type": asset?.contentType ?? "text/plain; charset=utf-8",
    "content-length": body.length,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    // The page loads its own script and style and talks to its own origin, nothing else.
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  });
  if (headOnly) res.end();
  else res.end(body);
}
