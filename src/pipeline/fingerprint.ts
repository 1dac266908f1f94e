import { hash } from "node:crypto";

/**
 * Identifies what a request asked for, so a reused request id with a different command is
 * told apart from an honest retry. Hashes the validated payload, so the same command sent
 * through two edges (different field spellings) has one fingerprint.
 */
export function fingerprintOf(type: string, aggregateId: string, payload: unknown): string {
  return hash("sha256", `${type}\0${aggregateId}\0${JSON.stringify(payload)}`, "base64url");
}
