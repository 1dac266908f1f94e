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
 * aggregate exists, so a refused caller learns nothing about existence.
 */
export function authorize(policy: Policy, identity: Identity): Authorization {
  if (policy.scopes.length === 0 && !policy.rules?.length) return { kind: "granted" };
  if (!identity.authenticated) {
    return { kind: "denied", reason: "UNAUTHENTICATED", message: "credentials are required" };
  }
  if (policy.scopes.some((s) => hasScope(identity, s))) return { kind: "granted" };
  const rules = (policy.rules ?? []).filter((r) => hasScope(identity, r.scope)) as StateRule<unknown, unknown>[];
  if (rules.length > 0) return { kind: "needs-state", rules };
  const needed = [...policy.scopes, ...(policy.rules ?? []).map((r) => r.scope)];
  return { kind: "denied", reason: "PERMISSION_DENIED", message: `requires one of the scopes: ${needed.join(", ")}` };
}
