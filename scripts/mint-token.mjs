#!/usr/bin/env node
// Mints an HS256 bearer token for AUTH_MODE=jwt, signed with AUTH_JWT_SECRET, for trying the
// service by hand and for tests. Prints the token on stdout; a bad argument prints one line
// saying what is wrong, and the usage, on stderr (exit 2).
//
//   AUTH_JWT_SECRET=... node scripts/mint-token.mjs --sub alice --tenant acme \
//     --scope "bookings:write bookings:read" [--issuer I] [--audience A] [--expires-in 1h]
import { parseArgs } from "node:util";
import { SignJWT } from "jose";

const USAGE = `usage: AUTH_JWT_SECRET=<secret> node scripts/mint-token.mjs --sub <user> --tenant <tenant>
         [--scope "bookings:write bookings:read"] [--issuer <iss>] [--audience <aud>]
         [--expires-in 1h] [--tenant-claim tenant]

  --expires-in  how long the token is valid: 30s, 15m, 1h, 7d; a negative period (-5m)
                mints a token that expired that long ago, for trying TOKEN_EXPIRED
  --issuer, --audience, --tenant-claim default to AUTH_ISSUER, AUTH_AUDIENCE, AUTH_TENANT_CLAIM
`;

/** Exits with one line naming the problem, then the usage. */
function fail(message) {
  process.stderr.write(`mint-token: ${message}\n\n${USAGE}`);
  process.exit(2);
}

// parseArgs takes "-5m" after --expires-in for an option of its own: join them first.
const argv = [];
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  const next = process.argv[i + 1];
  if (arg === "--expires-in" && next !== undefined && /^-\d/.test(next)) {
    argv.push(`--expires-in=${next}`);
    i++;
  } else argv.push(arg);
}

let values;
try {
  ({ values } = parseArgs({
    args: argv,
    options: {
      help: { type: "boolean", short: "h" },
      sub: { type: "string" },
      tenant: { type: "string" },
      scope: { type: "string", default: "" },
      issuer: { type: "string", default: process.env.AUTH_ISSUER },
      audience: { type: "string", default: process.env.AUTH_AUDIENCE },
      "expires-in": { type: "string", default: "1h" },
      "tenant-claim": { type: "string", default: process.env.AUTH_TENANT_CLAIM ?? "tenant" },
    },
  }));
} catch (error) {
  fail(error.message);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const secret = process.env.AUTH_JWT_SECRET;
if (!secret) fail("AUTH_JWT_SECRET is not set");
if (!values.sub) fail("--sub is required");
if (!values.tenant) fail("--tenant is required");

let jwt = new SignJWT({ [values["tenant-claim"]]: values.tenant, scope: values.scope })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(values.sub)
  .setIssuedAt();
try {
  jwt = jwt.setExpirationTime(values["expires-in"]); // jose reads the period, and throws on one it cannot
} catch {
  fail(`--expires-in "${values["expires-in"]}" is not a period such as 30s, 15m, 1h, 7d or -5m`);
}
if (values.issuer) jwt = jwt.setIssuer(values.issuer);
if (values.audience) jwt = jwt.setAudience(values.audience);
process.stdout.write(`${await jwt.sign(new TextEncoder().encode(secret))}\n`);
