import { hasScope, type Identity } from "./identity.js";

/**
 * Who may run a command. Holding any scope in `scopes` allows it outright; holding a
 * rule's scope allows it only when the rule accepts the loaded state (e.g. a guest
 * with `bookings:own` may cancel only their own booking).
 */
export interface Policy<S = unknown, P = unknown> {
  readonly scopes: readonly string[];
  readonly rules?: readonly StateRule<S, P>[];
}

/** A conditional grant: `scope` allows the command when `allows` holds on the state. */
export interface StateRule<S, P> {
  readonly scope: string;
  readonly description: string;
  allows(state: S, identity: Identity, payload: P): boolean;
}

/** Outcome of checking a policy before any state is loaded. */
export type Authorization =
  | { readonly kind: "granted" }
  | { readonly kind: "needs-state"; readonly rules: readonly StateRule<unknown, unknown>[] }
  | { readonly kind: "denied"; readonly reason: "UNAUTHENTICATED" | "PERMISSION_DENIED"; readonly message: string };

/** A policy any caller satisfies, for commands that are open by design. */
export const OPEN: Policy = Object.freeze({ scopes: [] });

/**
 * Checks what can be checked without state. Denial never depends on whether the
 * aggregate exists, so a refused caller learns nothing about existence. `what` names the
 * guarded call in the denial's message ("booking.BookRoom requires bookings:write; …").
 */
export function authorize(policy: Policy, identity: Identity, what = "this call"): Authorization {
  if (policy.scopes.length === 0 && !policy.rules?.length) return { kind: "granted" };
  if (!identity.authenticated) {
    return { kind: "denied", reason: "UNAUTHENTICATED", message: "credentials are required" };
  }
  if (policy.scopes.some((s) => hasScope(identity, s))) return { kind: "granted" };
  const rules = (policy.rules ?? []).filter((r) => hasScope(identity, r.scope)) as StateRule<unknown, unknown>[];
  if (rules.length > 0) return { kind: "needs-state", rules };
  return { kind: "denied", reason: "PERMISSION_DENIED", message: `${what} requires ${describePolicy(policy)}; ${heldScopes(identity)}` };
}

/** Most of a caller's scopes a denial lists; a token may carry many. */
const MAX_SCOPES_SHOWN = 10;

/** What a caller holds, for denials: "the caller holds bookings:read", "the caller holds no scopes". */
export function heldScopes(identity: Identity): string {
  const { scopes } = identity;
  if (scopes.length === 0) return "the caller holds no scopes";
  const shown = scopes.slice(0, MAX_SCOPES_SHOWN).join(" ");
  return `the caller holds ${shown}${scopes.length > MAX_SCOPES_SHOWN ? ` and ${scopes.length - MAX_SCOPES_SHOWN} more` : ""}`;
}

/**
 * A policy's rule in words, for denials: "bookings:write, or bookings:own when the booking's
 * guest is the caller". Scopes that allow outright come first, joined by "or".
 */
export function describePolicy(policy: Policy): string {
  const outright = policy.scopes.length > 0 ? [policy.scopes.join(" or ")] : [];
  return [...outright, ...(policy.rules ?? []).map((r) => `${r.scope} when ${r.description}`)].join(", or ");
}

/**
 * Why a caller whose scopes allow `what` only under rules (authorize's "needs-state") was
 * refused once the state was read: "booking.CancelBooking with bookings:own is allowed only
 * when the booking's guest is the caller; otherwise it requires bookings:write".
 */
export function ruleDenial(what: string, policy: Policy, rules: readonly StateRule<unknown, unknown>[]): string {
  const scopes = [...new Set(rules.map((r) => r.scope))].join(" and ");
  const otherwise = policy.scopes.length > 0 ? `; otherwise it requires ${policy.scopes.join(" or ")}` : "";
  return `${what} with ${scopes} is allowed only when ${rules.map((r) => r.description).join(" or ")}${otherwise}`;
}

/**
 * The part of a policy that callers through one edge can meet: its scopes and rules whose
 * scope is among `allowed` (the edge's own gate). Through booking.v1, RecordPayment's
 * "bookings:write or payments:notify" is bookings:write alone. Empty (no scopes, no rules)
 * when the edge lets none of them through: the caller of `authorize` must refuse that, as
 * an empty policy is open.
 */
export function narrowPolicy<S, P>(policy: Policy<S, P>, allowed: readonly string[]): Policy<S, P> {
  return {
    scopes: policy.scopes.filter((s) => allowed.includes(s)),
    rules: (policy.rules ?? []).filter((r) => allowed.includes(r.scope)),
  };
}
