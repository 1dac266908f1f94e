import { Code } from "@connectrpc/connect";
import { hasScope, type Identity } from "../kernel/identity.js";
import { heldScopes } from "../kernel/policy.js";
import { edgeError } from "./command-error.js";

/**
 * Guards a query (reads are not commands, so no command policy covers them): the caller
 * must be authenticated and hold one of the scopes.
 */
export function requireScope(identity: Identity, ...scopes: string[]): void {
  if (!identity.authenticated) throw edgeError(Code.Unauthenticated, "UNAUTHENTICATED", "credentials are required");
  if (!scopes.some((s) => hasScope(identity, s))) {
    throw edgeError(Code.PermissionDenied, "PERMISSION_DENIED", `this read requires ${scopes.join(" or ")}; ${heldScopes(identity)}`);
  }
}
