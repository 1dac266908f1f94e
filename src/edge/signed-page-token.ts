import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { canonicalBase64urlBytes } from "../kernel/base64url.js";

/**
 * AIP-158 page tokens that a caller cannot read meaning into or forge: the position and what
 * it is bound to (tenant, list), as base64url JSON, followed by an HMAC-SHA256 of it.
 * node:crypto does the cryptography; the format is two base64url parts joined by a dot.
 */
export interface PageTokens {
  seal(content: Readonly<Record<string, string>>): string;
  /** The content of a token this service sealed, or undefined for anything else (forged, altered, garbage). */
  open(token: string): Record<string, string> | undefined;
}

/** Page tokens signed with `secret`; a random one (tokens then hold only in this process) when none is given. */
export function pageTokens(secret?: string): PageTokens {
  const key = secret ? Buffer.from(secret, "utf8") : randomBytes(32);
  const sign = (body: string) => createHmac("sha256", key).update(body).digest();
  return {
    seal(content) {
      const body = Buffer.from(JSON.stringify(content), "utf8").toString("base64url");
      return `${body}.${sign(body).toString("base64url")}`;
    },
    open(token) {
      const [body, mac, ...rest] = token.split(".");
      if (!body || !mac || rest.length > 0) return undefined;
      // Only the MAC's exact text as sealed is accepted, so an altered token is refused.
      const given = canonicalBase64urlBytes(mac);
      const expected = sign(body);
      if (given === undefined || given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const content: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
        return typeof content === "object" && content !== null ? (content as Record<string, string>) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
