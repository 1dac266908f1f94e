import { createHash } from "node:crypto";

/**
 * Identifies what a request asked for, so a reused request id with a different command is
 * told apart from an honest retry. Hashes the validated payload, so the same command sent
 * through two edges (different field spellings) has one fingerprint.
 */
export function fingerprintOf(type: string, aggregateId: string, payload: unknown): string {
  return createHash("sha256").update(type).update("\0").update(aggregateId).update("\0").update(JSON.stringify(payload)).digest("base64url");
}
