import { execFile } from "node:child_process";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { SignJWT, base64url } from "jose";
import { ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { grpcJsClient, type GrpcFailure } from "./grpc-client.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** What a call ended with, the same shape for grpc-js and Connect: code 0 is success. */
export interface Outcome {
  readonly code: number;
  readonly reason?: string;
  readonly message?: string;
}

/**
 * Awaits a call and reduces it to its status code and ErrorInfo reason, whichever client
 * made it (grpc-js failures from grpcJsClient, ConnectError from a Connect client). gRPC
 * and Connect number their codes the same way.
 */
export async function outcomeOf(call: Promise<unknown>): Promise<Outcome> {
  try {
    await call;
    return { code: 0 };
  } catch (error) {
    if (error instanceof ConnectError) {
      return { code: error.code, reason: error.findDetails(ErrorInfoSchema)[0]?.reason, message: error.rawMessage };
    }
    const failure = error as Partial<GrpcFailure>;
    if (typeof failure.code === "number") return { code: failure.code, reason: failure.errorInfo?.reason, message: failure.message };
    throw error;
  }
}

/** Claims and signing options of a test token. */
export interface TokenSpec {
  readonly sub?: string;
  readonly tenant?: string;
  readonly scope?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Seconds since the epoch. */
  readonly exp?: number;
  readonly extra?: Record<string, unknown>;
}

/** An HS256 token signed with `secret`. */
export async function hs256Token(secret: string | Uint8Array, spec: TokenSpec): Promise<string> {
  const key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  return claimsOf(spec).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
}

/** A token with the claims of `spec` signed by `key` (RS256/ES256 CryptoKey) with header `kid`. */
export async function signedToken(key: CryptoKey, alg: string, spec: TokenSpec, kid?: string): Promise<string> {
  return claimsOf(spec).setProtectedHeader({ alg, typ: "JWT", ...(kid ? { kid } : {}) }).sign(key);
}

/** An unsecured JWT (`alg: none`, empty signature), built by hand: jose will not sign one. */
export function unsignedToken(spec: TokenSpec): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "none", typ: "JWT" };
  const payload = {
    ...(spec.sub !== undefined ? { sub: spec.sub } : {}),
    ...(spec.tenant !== undefined ? { tenant: spec.tenant } : {}),
    ...(spec.scope !== undefined ? { scope: spec.scope } : {}),
    ...(spec.issuer !== undefined ? { iss: spec.issuer } : {}),
    ...(spec.audience !== undefined ? { aud: spec.audience } : {}),
    iat: now,
    exp: spec.exp ?? now + 3600,
    ...spec.extra,
  };
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.`;
}

function claimsOf(spec: TokenSpec): SignJWT {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({
    ...(spec.tenant !== undefined ? { tenant: spec.tenant } : {}),
    ...(spec.scope !== undefined ? { scope: spec.scope } : {}),
    ...spec.extra,
  })
    .setIssuedAt(now)
    .setExpirationTime(spec.exp ?? now + 3600);
  if (spec.sub !== undefined) jwt = jwt.setSubject(spec.sub);
  if (spec.issuer !== undefined) jwt = jwt.setIssuer(spec.issuer);
  if (spec.audience !== undefined) jwt = jwt.setAudience(spec.audience);
  return jwt;
}

/**
 * Like grpcJsClient, with the channel credentials (e.g. grpc.credentials.createSsl) and
 * channel options given. Failures reject with a GrpcFailure.
 */
export function grpcJsClientWith<S extends DescService>(
  service: S,
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
) {
  return grpcJsClient(service, address, { credentials, channelOptions: options, deadlineMs: 10_000 });
}

/** How a server process that was expected to refuse to start ended. */
export interface Refusal {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;
}

/**
 * Runs `src/main.ts` with exactly the AUTH_/TLS_ variables given (none inherited) on
 * ephemeral ports, and resolves when it exits; kills it after `timeoutMs` if it started.
 */
export function runServerToExit(env: Record<string, string>, timeoutMs = 20_000): Promise<Refusal> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AUTH_|TLS_|MTLS_|HOST$)/.test(k)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src", "main.ts")],
      { cwd: ROOT, env: { ...base, GRPC_PORT: "0", HTTP_PORT: "0", DATABASE_URL: "file::memory:", ...env }, timeout: timeoutMs, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        const failed = error as (Error & { code?: number | string | null; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: failed ? (typeof failed.code === "number" ? failed.code : null) : 0,
          signal: failed?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}
