import { timeoutSignal } from "../kernel/timeout-signal.js";
import { QueryError, type FindOptions, type ReadOptions } from "../read/read-models.js";
import { badRequest } from "./command-error.js";
import type { EdgeCall } from "./edge-service.js";
import { invalidQueryField } from "./query-error.js";

/** Largest page a query answers (AIP-158: a larger page_size is cut to it, not refused). */
export const MAX_PAGE_SIZE = 1000;

/**
 * How long before a call's deadline a read waiting for `min_position` gives up, so its
 * UNAVAILABLE (NOT_CAUGHT_UP, with the position reached) reaches the client before the
 * client's own deadline turns it into DEADLINE_EXCEEDED: a fifth of the budget, at most 250 ms
 * (room for a loaded server's answer to travel back).
 */
export function answerMargin(budgetMs: number): number {
  return Math.min(250, budgetMs / 5);
}

/** A uint64 position from the wire as a number, saturating past the largest exact one. */
export function positionOf(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/**
 * The read options of a call: the caller's tenant, and for a read that waits for
 * `min_position`, a signal that aborts when the client goes away or shortly before the call's
 * deadline. A read without min_position makes no timer.
 */
export function readOptionsOf(call: EdgeCall, minPosition: bigint): ReadOptions {
  const tenant = call.identity.tenant;
  if (minPosition === 0n) return { tenant, signal: call.signal };
  const signals = [call.signal];
  if (call.deadline !== undefined) {
    const budget = call.deadline - Date.now();
    signals.push(timeoutSignal(Math.max(0, Math.floor(budget - answerMargin(budget)))));
  }
  return { tenant, minPosition: positionOf(minPosition), signal: AbortSignal.any(signals) };
}

/** AIP-158 page size: 0 means the read model's default, more than MAX_PAGE_SIZE is cut to it, negative is refused. */
export function pageSizeOf(pageSize: number, field = "page_size"): number | undefined {
  if (pageSize < 0) throw badRequest([{ field, description: `must not be negative, got ${pageSize}` }]);
  return pageSize === 0 ? undefined : Math.min(pageSize, MAX_PAGE_SIZE);
}

/**
 * An AIP-132 order_by of one field ("check_in", "check_in desc"), its name passed through
 * `fieldOf` (the edge's name to the read model's; undefined refuses it). Empty: the default order.
 */
export function orderByOf(orderBy: string, fieldOf: (name: string) => string | undefined, names?: readonly string[], field = "order_by"): FindOptions["orderBy"] {
  const words = orderBy.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  const [name, direction = "asc", ...rest] = words;
  const target = fieldOf(name);
  if (target === undefined && rest.length === 0 && names) {
    const description = `cannot order by "${name.slice(0, 64)}"; it can be ordered by ${names.join(", ")}, each optionally followed by " asc" or " desc"`;
    throw invalidQueryField(new QueryError("INVALID_ORDER", description), field);
  }
  if (rest.length > 0 || (direction !== "asc" && direction !== "desc") || target === undefined) {
    throw badRequest([{ field, description: `must be one field, optionally followed by " asc" or " desc", got "${orderBy.slice(0, 100)}"` }]);
  }
  return { field: target, direction };
}
