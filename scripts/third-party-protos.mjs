// Copies the third-party .proto files Switchyard builds against out of their npm
// packages into .proto-deps/ (git-ignored), so buf can lint, build and generate offline.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const root = join(dirname(new URL(import.meta.url).pathname), "..", ".proto-deps");
const packageDir = (name) => dirname(require.resolve(`${name}/package.json`));

/** [npm package, path inside it, path inside .proto-deps] */
const files = [
  ["google-proto-files", "google/rpc/status.proto", "google/rpc/status.proto"],
  ["google-proto-files", "google/rpc/error_details.proto", "google/rpc/error_details.proto"],
  ["google-proto-files", "google/rpc/code.proto", "google/rpc/code.proto"],
  ["grpc-health-check", "proto/health/v1/health.proto", "grpc/health/v1/health.proto"],
  ["@grpc/reflection", "build/proto/grpc/reflection/v1/reflection.proto", "grpc/reflection/v1/reflection.proto"],
  ["@grpc/reflection", "build/proto/grpc/reflection/v1alpha/reflection.proto", "grpc/reflection/v1alpha/reflection.proto"],
];

rmSync(root, { recursive: true, force: true });
for (const [pkg, from, to] of files) {
  const target = join(root, to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(join(packageDir(pkg), from), target);
}
