import { randomBytes } from "node:crypto";
import { sealedTokens } from "../kernel/sealed-token.js";

/**
 * AIP-158 page tokens for the edge's own lists (scheduled commands): what a page continues
 * from and what it is bound to (tenant, list), sealed (kernel/sealed-token.ts), so a caller
 * can neither read meaning into a token nor forge one.
 */
export interface PageTokens {
  seal(content: Readonly<Record<string, string>>): string;
  /** The content of a token this service sealed, or undefined for anything else (forged, altered, garbage). */
  open(token: string): Record<string, string> | undefined;
}

/** Page tokens signed with `secret`; a random one (tokens then hold only in this process) when none is given. */
export function pageTokens(secret?: string): PageTokens {
  const tokens = sealedTokens(secret ? Buffer.from(secret, "utf8") : randomBytes(32));
  return {
    seal: (content) => tokens.seal("", JSON.stringify(content)),
    open(token) {
      const payload = tokens.open("", token);
      return payload === undefined ? undefined : (JSON.parse(payload) as Record<string, string>);
    },
  };
}
