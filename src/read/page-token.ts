import { sealedTokens } from "../kernel/sealed-token.js";
import type { IndexedValue } from "../store/event-store.js";

/** Where the next page starts: the last row's order value (when ordered by a field) and id. */
export interface Keyset {
  readonly value?: IndexedValue;
  readonly id: string;
}

/**
 * AIP-158 page tokens for the read models: a token holds the keyset of the page's last row,
 * sealed to the query it belongs to (tenant, collection, filter, order), so a token changed,
 * forged, or replayed with another tenant, filter or order does not open. The key is shared
 * by every process on the database.
 */
export function pageTokens(key: string) {
  const tokens = sealedTokens(key);
  return {
    issue(binding: string, keyset: Keyset): string {
      return tokens.seal(binding, JSON.stringify(keyset.value === undefined ? [keyset.id] : [keyset.id, keyset.value]));
    },
    /** The keyset a token holds, or undefined when it does not open for this query. */
    open(binding: string, token: string): Keyset | undefined {
      const payload = tokens.open(binding, token);
      if (payload === undefined) return undefined;
      const [id, value] = JSON.parse(payload) as [string, IndexedValue?];
      return value === undefined ? { id } : { id, value };
    },
  };
}
