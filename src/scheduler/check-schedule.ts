import type { Aggregate } from "../kernel/aggregate.js";
import type { AnyCommand } from "../kernel/command.js";
import type { DomainEvent } from "../kernel/events.js";
import type { Identity } from "../kernel/identity.js";
import { authorize, ruleDenial } from "../kernel/policy.js";
import type { Outcome } from "../kernel/result.js";
import { parsePayload } from "../kernel/validation.js";

/** What the check needs of the pipeline: the registered commands and a state loader for policy rules. */
export interface ScheduleChecks {
  readonly registry: ReadonlyMap<string, AnyCommand>;
  loadState<S>(aggregate: Aggregate<S, DomainEvent>, aggregateId: string, tenant: string): Promise<{ readonly state: S }>;
}

/** A command to schedule, as the edge hands it over. */
export interface ScheduleInput {
  readonly type: string;
  readonly aggregateId: string;
  readonly payload: Record<string, unknown>;
}

/** The outcome of a check: the payload to store (the caller's, with the aggregate id filled in) and the aggregate id, or why not. */
export type CheckedSchedule =
  | { readonly ok: true; readonly aggregateId: string; readonly payload: Record<string, unknown> }
  | { readonly ok: false; readonly outcome: Extract<Outcome, { status: "invalid" | "unauthorized" }> };

/**
 * Checks a command before it is scheduled, as the pipeline would before running it: its type
 * is registered, its payload valid, and the caller's identity meets its policy now (a rule
 * that looks at state is checked on the state as it is now). The run checks all of it again:
 * this only spares a caller a schedule that could never be accepted. The payload is stored as
 * the caller sent it (with the aggregate id), not as parsed: parsing builds value objects the
 * schema would not take back.
 */
export async function checkSchedule(checks: ScheduleChecks, input: ScheduleInput, identity: Identity): Promise<CheckedSchedule> {
  const command = checks.registry.get(input.type);
  if (!command) {
    const known = `the known types are ${[...checks.registry.keys()].join(", ")}`;
    const description = `no command "${input.type.slice(0, 100)}" is registered; ${known}`;
    return { ok: false, outcome: { status: "invalid", reason: "UNKNOWN_COMMAND", message: description, violations: [{ field: "type", description }] } };
  }
  const idField = command.aggregateIdField;
  const given = input.payload[idField];
  if (input.aggregateId && given !== undefined && given !== input.aggregateId) {
    const description = `${idField} does not match the aggregate id "${input.aggregateId.slice(0, 64)}"`;
    return { ok: false, outcome: { status: "invalid", reason: "VALIDATION_FAILED", message: `${idField}: ${description}`, violations: [{ field: idField, description }] } };
  }
  // A spread, not Object.assign: a caller's "__proto__" key stays a key.
  const payload = input.aggregateId && given === undefined ? { ...input.payload, [idField]: input.aggregateId } : input.payload;
  const parsed = parsePayload(command.payload, payload);
  if (!parsed.ok) {
    const message = parsed.violations.map((v) => `${v.field}: ${v.description}`).join("; ");
    return { ok: false, outcome: { status: "invalid", reason: "VALIDATION_FAILED", message, violations: parsed.violations } };
  }
  const aggregateId = String((parsed.value as Record<string, unknown>)[idField]);
  const access = authorize(command.policy, identity, command.type);
  if (access.kind === "denied") return { ok: false, outcome: { status: "unauthorized", reason: access.reason, message: access.message } };
  if (access.kind === "needs-state") {
    const { state } = await checks.loadState(command.aggregate, aggregateId, identity.tenant);
    if (!access.rules.some((r) => r.allows(state, identity, parsed.value))) {
      return { ok: false, outcome: { status: "unauthorized", reason: "PERMISSION_DENIED", message: ruleDenial(command.type, command.policy, access.rules) } };
    }
  }
  return { ok: true, aggregateId, payload };
}
