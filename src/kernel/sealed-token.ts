import { createHmac, timingSafeEqual } from "node:crypto";
import { canonicalBase64urlBytes, canonicalBase64urlText } from "./base64url.js";

/** Bytes of the HMAC kept in a token: 128 bits, past any guessing. */
const MAC_BYTES = 16;

/**
 * Opaque, tamper-proof tokens, such as AIP-158 page tokens: a text payload as base64url, a
 * dot, and an HMAC-SHA256 over the payload and what the token is bound to (a tenant, a
 * query). A token changed, forged, or presented with another binding does not open.
 * node:crypto does the cryptography; only the format is written here.
 */
export function sealedTokens(key: string | Buffer) {
  const mac = (binding: string, payload: string) => createHmac("sha256", key).update(binding).update("\n").update(payload).digest().subarray(0, MAC_BYTES);
  return {
    seal(binding: string, payload: string): string {
      return `${Buffer.from(payload, "utf8").toString("base64url")}.${mac(binding, payload).toString("base64url")}`;
    },
    /** The payload of a token sealed with this key and binding; undefined for anything else. */
    open(binding: string, token: string): string | undefined {
      const [encoded, signature, extra] = token.split(".");
      if (extra !== undefined || !encoded || !signature) return undefined;
      // Only the exact text seal() writes is a token: an altered one is refused even where it decodes to the same bytes.
      const payload = canonicalBase64urlText(encoded);
      const given = canonicalBase64urlBytes(signature);
      if (payload === undefined || given === undefined) return undefined;
      const expected = mac(binding, payload);
      return given.length === expected.length && timingSafeEqual(given, expected) ? payload : undefined;
    },
  };
}
