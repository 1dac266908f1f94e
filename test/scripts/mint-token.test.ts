import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { decodeJwt } from "jose";

const SCRIPT = join(import.meta.dirname, "..", "..", "scripts", "mint-token.mjs");
const SECRET = "0123456789abcdef0123456789abcdef";

function mint(args: string[], env: Record<string, string> = { AUTH_JWT_SECRET: SECRET }) {
  const { status, stdout, stderr } = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env } });
  return { status, stdout, stderr };
}

/** A refusal: exit 2, the problem on stderr's first line, the usage after it, and no stack trace. */
function assertRefused(result: ReturnType<typeof mint>, problem: RegExp): void {
  assert.equal(result.status, 2, result.stderr);
  assert.equal(result.stdout, "");
  const [first] = result.stderr.split("\n");
  assert.match(first, /^mint-token: /);
  assert.match(first, problem);
  assert.match(result.stderr, /usage: AUTH_JWT_SECRET=<secret>/);
  assert.doesNotMatch(result.stderr, /\n\s+at |node:internal/);
}

describe("scripts/mint-token.mjs", () => {
  it("--help prints the usage and exits 0", () => {
    const result = mint(["--help"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^usage: AUTH_JWT_SECRET=<secret> node scripts\/mint-token\.mjs --sub <user> --tenant <tenant>/);
  });

  it("--expires-in -5m mints a token that expired five minutes ago", () => {
    const result = mint(["--sub", "alice", "--tenant", "acme", "--expires-in", "-5m"]);
    assert.equal(result.status, 0, result.stderr);
    const claims = decodeJwt(result.stdout.trim());
    assert.equal(claims.iat! - claims.exp!, 300);
    assert.deepEqual([claims.sub, claims.tenant], ["alice", "acme"]);
  });

  it("refuses a period it cannot read, an unknown option, a missing --sub and a missing secret in one line each", () => {
    assertRefused(mint(["--sub", "a", "--tenant", "t", "--expires-in", "soon"]), /--expires-in "soon" is not a period/);
    assertRefused(mint(["--sub", "a", "--tenant", "t", "--colour", "red"]), /Unknown option '--colour'/);
    assertRefused(mint(["--tenant", "t"]), /--sub is required/);
    assertRefused(mint(["--sub", "a", "--tenant", "t"], {}), /AUTH_JWT_SECRET is not set/);
  });
});
