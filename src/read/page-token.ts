import { createHmac, timingSafeEqual } from "node:crypto";
import { canonicalBase64urlBytes, canonicalBase64urlText } from "../kernel/base64url.js";
import type { IndexedValue } from "../store/event-store.js";

/** Where the next page starts: the last row's order value (when ordered by a field) and id. */
export interface Keyset {
  readonly value?: IndexedValue;
  readonly id: string;
}

/** Bytes of the HMAC kept in a token: 128 bits, past any guessing. */
const MAC_BYTES = 16;

/**
 * AIP-158 page tokens: opaque to the caller, and tamper-proof. A token holds the keyset of
 * the page's last row and an HMAC-SHA256 over it and the query it belongs to (tenant,
 * collection, filter, order), so a token changed, forged, or replayed with another tenant,
 * filter or order fails to verify. The key is shared by every process on the database.
 */
export function pageTokens(key: string) {
  const mac = (binding: string, payload: string) => createHmac("sha256", key).update(binding).update("\n").update(payload).digest().subarray(0, MAC_BYTES);
  return {
    issue(binding: string, keyset: Keyset): string {
      const payload = JSON.stringify(keyset.value === undefined ? [keyset.id] : [keyset.id, keyset.value]);
      return `${Buffer.from(payload).toString("base64url")}.${mac(binding, payload).toString("base64url")}`;
    },
    /** The keyset a token holds, or undefined when it does not verify for this query. */
    open(binding: string, token: string): Keyset | undefined {
      const [encoded, signature, extra] = token.split(".");
      if (extra !== undefined || !encoded || !signature) return undefined;
      // Only the exact text issue() writes is a token: an altered one is refused even where it decodes to the same bytes.
      const payload = canonicalBase64urlText(encoded);
      const given = canonicalBase64urlBytes(signature);
      if (payload === undefined || given === undefined) return undefined;
      const expected = mac(binding, payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const [id, value] = JSON.parse(payload) as [string, IndexedValue?];
      return value === undefined ? { id } : { id, value };
    },
  };
}
