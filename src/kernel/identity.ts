/** The caller as the edge established it. Anonymous callers have no user id and no scopes. */
export interface Identity {
  readonly userId?: string;
  readonly tenant: string;
  readonly scopes: readonly string[];
  /** A service caller's identity, e.g. the subject of its client certificate. */
  readonly clientId?: string;
  /** False when no credentials were presented at all. */
  readonly authenticated: boolean;
}

/** The tenant every caller shares when no tenant is given (single-tenant deployments). */
export const DEFAULT_TENANT = "default";

/** Identity for in-process callers and `AUTH_MODE=none`: trusted, with every scope. */
export const TRUSTED_LOCAL: Identity = Object.freeze({
  userId: "local",
  tenant: DEFAULT_TENANT,
  scopes: Object.freeze(["*"]),
  authenticated: true,
});

/** True when the identity holds the scope, or the wildcard scope. */
export function hasScope(identity: Identity, scope: string): boolean {
  return identity.scopes.includes(scope) || identity.scopes.includes("*");
}
