import { readFileSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { createLocalJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Config } from "../config.js";
import { copyWith } from "../kernel/copy-with.js";
import { DEFAULT_TENANT, TRUSTED_LOCAL, type Identity } from "../kernel/identity.js";
import { edgeError } from "./command-error.js";
import type { Authenticate } from "./call-lifecycle.js";

/** Stable UNAUTHENTICATED reasons for each way a token can fail, by jose error code. */
const TOKEN_REASONS: Readonly<Record<string, string>> = {
  ERR_JWT_EXPIRED: "TOKEN_EXPIRED",
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "TOKEN_BAD_SIGNATURE",
  ERR_JWKS_NO_MATCHING_KEY: "TOKEN_BAD_SIGNATURE",
  ERR_JOSE_ALG_NOT_ALLOWED: "TOKEN_ALGORITHM_NOT_ALLOWED",
  ERR_JOSE_NOT_SUPPORTED: "TOKEN_ALGORITHM_NOT_ALLOWED",
  ERR_JWT_CLAIM_VALIDATION_FAILED: "TOKEN_CLAIM_INVALID",
  ERR_JWS_INVALID: "TOKEN_MALFORMED",
  ERR_JWT_INVALID: "TOKEN_MALFORMED",
};

const unauthenticated = (reason: string, message: string) => edgeError(Code.Unauthenticated, reason, message);

/**
 * Builds how callers are identified, from the configuration:
 * - `none`: everyone is the trusted local identity (config allows it on loopback only);
 * - `jwt`: a bearer token verified with jose (HS256 secret, or RS256/ES256 keys from a JWKS
 *   file), issuer and audience checked; `sub` → user, the tenant claim → tenant, `scope` →
 *   scopes. A verified client certificate, when mTLS is on, is recorded as the client id;
 * - `mtls`: a verified client certificate is a trusted service: its subject is the caller.
 */
export function createAuthenticator(config: Config): Authenticate {
  if (config.AUTH_MODE === "none") return async ({ peerCertificateSubject }) => copyWith(TRUSTED_LOCAL, { clientId: peerCertificateSubject });
  if (config.AUTH_MODE === "mtls") {
    const scopes = config.MTLS_SCOPES.split(/\s+/).filter(Boolean);
    return async ({ peerCertificateSubject }) => {
      if (!peerCertificateSubject) throw unauthenticated("CLIENT_CERTIFICATE_REQUIRED", "a client certificate is required");
      const fields = subjectFields(peerCertificateSubject);
      return { userId: fields.CN, tenant: fields.O ?? DEFAULT_TENANT, scopes, clientId: peerCertificateSubject, authenticated: true };
    };
  }

  const key = jwtKey(config);
  const options = {
    algorithms: config.AUTH_JWT_SECRET ? ["HS256"] : ["RS256", "ES256"],
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    clockTolerance: config.AUTH_CLOCK_TOLERANCE_S,
  };
  return async ({ header, peerCertificateSubject }) => {
    const authorization = header("authorization");
    if (!authorization) throw unauthenticated("TOKEN_MISSING", "a bearer token is required in the authorization metadata");
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw unauthenticated("TOKEN_MALFORMED", 'authorization must be "Bearer <token>"');
    let payload: JWTPayload;
    try {
      payload = (await jwtVerify(match[1], key as JWTVerifyGetKey, options)).payload;
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      const reason = TOKEN_REASONS[code] ?? "TOKEN_INVALID";
      const claim = (error as { claim?: string }).claim;
      throw unauthenticated(reason, claim ? `token ${claim} claim is not accepted` : `token rejected: ${reason.toLowerCase().replaceAll("_", " ")}`);
    }
    return identityOf(payload, config.AUTH_TENANT_CLAIM, peerCertificateSubject);
  };
}

/** The key jose verifies with: the shared secret, or the key set of the JWKS file. */
function jwtKey(config: Config): Uint8Array | JWTVerifyGetKey {
  if (config.AUTH_JWT_SECRET) return new TextEncoder().encode(config.AUTH_JWT_SECRET);
  return createLocalJWKSet(JSON.parse(readFileSync(config.AUTH_JWKS_FILE!, "utf8")));
}

/** Claims → identity. A token without a subject or a tenant names nobody and is refused. */
function identityOf(payload: JWTPayload, tenantClaim: string, clientId: string | undefined): Identity {
  const tenant = payload[tenantClaim];
  if (typeof payload.sub !== "string" || payload.sub === "") throw unauthenticated("TOKEN_CLAIM_INVALID", "token has no sub claim");
  if (typeof tenant !== "string" || tenant === "") throw unauthenticated("TOKEN_CLAIM_INVALID", `token has no ${tenantClaim} claim`);
  const scope = payload.scope ?? payload.scp;
  const scopes = typeof scope === "string" ? scope.split(" ").filter(Boolean) : Array.isArray(scope) ? scope.map(String) : [];
  return { userId: payload.sub, tenant, scopes: scopes.filter((s) => s !== "*"), clientId, authenticated: true };
}

/** "CN=svc,O=acme" → {CN: "svc", O: "acme"} (see formatSubject): `\,` and `\\` are literal; a repeated attribute's first value counts. */
function subjectFields(subject: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const part of subject.match(/(?:[^,\\]|\\.)+/g) ?? []) {
    const eq = part.indexOf("=");
    if (eq > 0) fields[part.slice(0, eq)] ??= part.slice(eq + 1).replace(/\\(.)/g, "$1");
  }
  return fields;
}
