#!/usr/bin/env node
// Mints an HS256 bearer token for AUTH_MODE=jwt, signed with AUTH_JWT_SECRET, for trying the
// service by hand and for tests. Prints the token on stdout.
//
//   AUTH_JWT_SECRET=... node scripts/mint-token.mjs --sub alice --tenant acme \
//     --scope "bookings:write bookings:read" [--issuer I] [--audience A] [--expires-in 1h]
import { parseArgs } from "node:util";
import { SignJWT } from "jose";

const { values } = parseArgs({
  options: {
    sub: { type: "string" },
    tenant: { type: "string" },
    scope: { type: "string", default: "" },
    issuer: { type: "string", default: process.env.AUTH_ISSUER },
    audience: { type: "string", default: process.env.AUTH_AUDIENCE },
    "expires-in": { type: "string", default: "1h" },
    "tenant-claim": { type: "string", default: process.env.AUTH_TENANT_CLAIM ?? "tenant" },
  },
});
const secret = process.env.AUTH_JWT_SECRET;
if (!secret || !values.sub || !values.tenant) {
  process.stderr.write("usage: AUTH_JWT_SECRET=<secret> mint-token.mjs --sub <user> --tenant <tenant> [--scope \"a b\"] [--issuer I] [--audience A] [--expires-in 1h]\n");
  process.exit(2);
}
let jwt = new SignJWT({ [values["tenant-claim"]]: values.tenant, scope: values.scope })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(values["expires-in"]);
if (values.issuer) jwt = jwt.setIssuer(values.issuer);
if (values.audience) jwt = jwt.setAudience(values.audience);
process.stdout.write(`${await jwt.sign(new TextEncoder().encode(secret))}\n`);
