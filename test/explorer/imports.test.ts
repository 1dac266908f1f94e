import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { it } from "node:test";

const src = join(import.meta.dirname, "..", "..", "src");
const root = join(src, "explorer");
/** The packages the page may import: the browser side of Connect and protobuf-es. */
const PACKAGES = new Set(["@connectrpc/connect", "@connectrpc/connect-web", "@bufbuild/protobuf", "@bufbuild/protobuf/wkt"]);

/** True when an import of `specifier` from `file` stays in the bundle's bounds: the page itself, the generated code, or an allowed package. */
function allowed(file: string, specifier: string): boolean {
  if (!specifier.startsWith(".")) return PACKAGES.has(specifier);
  const target = resolve(dirname(file), specifier);
  return [root, join(src, "gen")].some((dir) => target.startsWith(dir + sep));
}

it("src/explorer, bundled for the browser, imports only itself, src/gen, connect-web and protobuf-es", () => {
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).map((f) => join(root, f));
  assert.ok(files.length >= 7, `found ${files.length} explorer files`);
  const strays = files.flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/(?:from|import)\s+["']([^"']+)["']/g)]
      .map((m) => m[1])
      .filter((specifier) => !allowed(file, specifier))
      .map((specifier) => `${file.slice(root.length + 1)}: ${specifier}`),
  );
  assert.deepEqual(strays, []);
});
