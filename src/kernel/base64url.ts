/**
 * Base64url decoding that accepts only canonical text: Node's decoder skips characters
 * outside the alphabet and ignores the spare bits of the last one, so several texts decode
 * to the same bytes. A signed token must be exactly the text that was signed; these answer
 * undefined for any other.
 */

/** The bytes `text` encodes, when `text` is exactly their base64url encoding. */
export function canonicalBase64urlBytes(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : undefined;
}

/** The UTF-8 text `text` encodes, when `text` is exactly its base64url encoding (invalid UTF-8 included: it would not encode back). */
export function canonicalBase64urlText(text: string): string | undefined {
  const decoded = canonicalBase64urlBytes(text)?.toString("utf8");
  return decoded !== undefined && Buffer.from(decoded, "utf8").toString("base64url") === text ? decoded : undefined;
}
