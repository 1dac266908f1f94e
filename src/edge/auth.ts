import { TRUSTED_LOCAL } from "../kernel/identity.js";
import type { Authenticate } from "./grpc-server.js";

/**
 * AUTH_MODE=none: every caller is the trusted local identity (all scopes, default
 * tenant). Only safe on a loopback address, which config enforces.
 */
export const trustLoopbackCallers: Authenticate = async () => TRUSTED_LOCAL;
