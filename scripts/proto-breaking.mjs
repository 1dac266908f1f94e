// Compares proto/ with the contracts of an earlier commit (proto/BASELINE, or the ref given
// as an argument) using buf's breaking-change rules from buf.yaml. The earlier contracts come
// out of git with `git archive`, so the checkout is left as it is.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const buf = join(root, "node_modules", ".bin", "buf");
const ref =
  process.argv[2] ??
  readFileSync(join(root, "proto", "BASELINE"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line && !line.startsWith("#"));

const run = (command, args, options = {}) => execFileSync(command, args, { cwd: root, stdio: "inherit", ...options });

try {
  execFileSync("git", ["cat-file", "-e", `${ref}^{commit}`], { cwd: root, stdio: "ignore" });
} catch {
  const shallow = execFileSync("git", ["rev-parse", "--is-shallow-repository"], { cwd: root, encoding: "utf8" }).trim() === "true";
  if (shallow) {
    // A shallow clone holds no history to compare with: say so rather than fail the build.
    console.log(`proto-breaking: skipped, this clone is shallow and does not hold the baseline ${ref}`);
    process.exit(0);
  }
  console.error(`proto-breaking: the baseline ${ref} is not a commit of this repository`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), "switchyard-proto-baseline-"));
try {
  const archive = execFileSync("git", ["archive", ref, "proto", "buf.yaml"], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  // The third-party protos the baseline imports: the ones this checkout copies from npm.
  run(process.execPath, [join(root, "scripts", "third-party-protos.mjs")]);
  cpSync(join(root, ".proto-deps"), join(dir, ".proto-deps"), { recursive: true });
  // The baseline as a workspace of its own (its buf.yaml, its modules), so buf pairs the
  // modules and applies the breaking rules and ignores of this buf.yaml.
  run(buf, ["breaking", "--against", dir]);
  console.log(`proto-breaking: no breaking change against ${ref.slice(0, 12)}`);
} catch (error) {
  if (error.status !== undefined) {
    console.error(`proto-breaking: breaking changes against ${ref.slice(0, 12)} (above), or buf failed`);
    process.exit(1);
  }
  throw error;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
