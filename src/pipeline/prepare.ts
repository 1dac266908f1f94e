import { copyWith } from "../kernel/copy-with.js";
import type { AnyCommand } from "../kernel/command.js";
import { TRUSTED_LOCAL, type Identity } from "../kernel/identity.js";
import { resultOf, type CommandResult, type ResultBase, type ResultOf, type Violation } from "../kernel/result.js";
import { parsePayload } from "../kernel/validation.js";
import { MAX_REQUEST_ID_LENGTH, type CommandEnvelope } from "./envelope.js";
import { fingerprintOf } from "./fingerprint.js";
import { wellFormedTraceparent, type PipelineHooks } from "./hooks.js";

// The pipeline's first stage: what can be checked before any storage is touched.

/** Facts about the command fixed before the first attempt. */
export interface Prepared {
  readonly command: AnyCommand;
  readonly aggregateId: string;
  readonly payload: unknown;
  readonly identity: Identity;
  readonly requestId?: string;
  /** The message that caused the command, as its caller sent it. */
  readonly causationId?: string;
  readonly expectedRevision?: number;
  readonly reactionDepth?: number;
  readonly fingerprint: string;
  readonly base: ResultBase;
  readonly dryRun: boolean;
  readonly traceparent?: string;
}

/** Validates everything that needs no storage: type, ids, payload. */
export function prepare(commands: ReadonlyMap<string, AnyCommand>, hooks: PipelineHooks, envelope: CommandEnvelope, base: ResultBase): Prepared | CommandResult {
  const command = commands.get(envelope.type);
  if (!command) {
    const known = `the known types are ${[...commands.keys()].join(", ")} (DescribeCommands lists them with their payloads)`;
    return invalid(base, "UNKNOWN_COMMAND", `unknown command type "${String(envelope.type).slice(0, 100)}"; ${known}`, [
      { field: "type", description: `no command "${String(envelope.type).slice(0, 100)}" is registered; ${known}` },
    ]);
  }
  const violations: Violation[] = [];
  const meta = envelope.metadata ?? {};
  for (const key of ["requestId", "correlationId", "causationId"] as const) {
    const value = meta[key];
    if (value !== undefined && (typeof value !== "string" || value.length > MAX_REQUEST_ID_LENGTH)) {
      violations.push({ field: key, description: `${key} must be a string of at most ${MAX_REQUEST_ID_LENGTH} characters` });
    }
  }
  const expected = envelope.expectedRevision;
  if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
    violations.push({ field: "expectedRevision", description: "expectedRevision must be a whole number, 0 or more" });
  }
  const raw = envelope.payload;
  const claimedId = (raw as Record<string, unknown> | null)?.[command.aggregateIdField];
  if (!base.aggregateId && typeof claimedId === "string") base = copyWith(base, { aggregateId: claimedId.slice(0, 128) });
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    violations.push({ field: "payload", description: "payload must be an object" });
    return invalid(base, "VALIDATION_FAILED", summarize(violations), violations);
  }
  const idField = command.aggregateIdField;
  const payloadId = (raw as Record<string, unknown>)[idField];
  const aggregateId = envelope.aggregateId;
  let input = raw;
  if (aggregateId !== undefined && aggregateId !== "") {
    // A spread, not copyWith: Object.assign would make a caller's "__proto__" key the copy's prototype.
    if (payloadId === undefined) input = { ...raw, [idField]: aggregateId };
    else if (payloadId !== aggregateId) {
      // payloadId is whatever the caller sent, e.g. {toString: 1}, which String() cannot convert (TypeError).
      violations.push({ field: idField, description: `${idField} ${shown(payloadId)} does not match the aggregate id "${aggregateId.slice(0, 64)}"` });
    }
  }
  const parsed = parsePayload(command.payload, input);
  // An id the payload took from the envelope's aggregate id is named as the caller sent it.
  const fromEnvelope = input !== raw;
  if (!parsed.ok) violations.push(...parsed.violations.map((v) => (fromEnvelope && v.field === idField ? { ...v, field: "aggregateId" } : v)));
  if (violations.length > 0 || !parsed.ok) return invalid(base, "VALIDATION_FAILED", summarize(violations), violations);

  const id = String((parsed.value as Record<string, unknown>)[idField]);
  return {
    command,
    aggregateId: id,
    payload: parsed.value,
    identity: meta.identity ?? TRUSTED_LOCAL,
    requestId: meta.requestId || undefined,
    causationId: meta.causationId || undefined,
    expectedRevision: expected,
    reactionDepth: meta.reactionDepth || undefined,
    fingerprint: fingerprintOf(command.type, id, parsed.value),
    base: copyWith(base, { aggregateId: id }),
    dryRun: envelope.dryRun === true,
    traceparent: hooks.traceparent?.() ?? wellFormedTraceparent(meta.traceparent),
  };
}

/** The answer to a command refused before anything was read or written, naming what is wrong. */
export function invalid(base: ResultBase, reason: ResultOf<"invalid">["reason"], message: string, violations: Violation[]): CommandResult {
  return resultOf(base, { status: "invalid", reason, message, violations });
}

/** A caller's string as a result may repeat it: at most MAX_REQUEST_ID_LENGTH characters. */
export function echo(value: unknown): string {
  const text = typeof value === "string" ? value : shown(value);
  return text.length > MAX_REQUEST_ID_LENGTH ? text.slice(0, MAX_REQUEST_ID_LENGTH) : text;
}

/** Any value a caller sent, as a message may quote it: a string quoted and clipped, anything else by its kind. */
function shown(value: unknown): string {
  if (typeof value === "string") return `"${value.slice(0, 64)}"`;
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "(a list)" : "(an object)";
}

function summarize(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.field}: ${v.description}`).join("; ");
}
