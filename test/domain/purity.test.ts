import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";

const root = join(import.meta.dirname, "..", "..", "src", "domain");
const FORBIDDEN = /from\s+["'](@grpc\/|@connectrpc\/|better-sqlite3|pg["'/]|node:(fs|net|http|http2|child_process))/;

it("src/domain imports nothing from gRPC, Connect, SQLite, pg or the file system", () => {
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  assert.ok(files.length >= 8, `found ${files.length} domain files`);
  const leaks = files.filter((f) => FORBIDDEN.test(readFileSync(join(root, f), "utf8")));
  assert.deepEqual(leaks, []);
});
