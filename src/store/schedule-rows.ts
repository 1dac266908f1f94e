import type { Identity } from "../kernel/identity.js";
import type { ScheduleStatus, StoredSchedule } from "./schedule-store.js";

/** A schedules row as both stores read it (JSON columns parsed, numbers possibly strings from pg's bigint). */
export interface ScheduleRow {
  id: string;
  tenant: string;
  command_type: string;
  aggregate_id: string;
  payload: unknown;
  run_at: number | string;
  identity: unknown;
  correlation_id: string;
  causation_id: string;
  created_at: number | string;
  status: string;
  attempts: number;
  max_attempts: number | null;
  claim: string | null;
  claim_owner: string | null;
  lease_until: number | string | null;
  last_error: string | null;
  outcome: unknown;
  finished_at: number | string | null;
  traceparent: string | null;
}

/** The stored schedule a row holds; `parse` turns a JSON column into its value (SQLite keeps text, pg parses). */
export function scheduleOf(row: ScheduleRow, parse: (column: unknown) => unknown): StoredSchedule {
  const optional = (value: number | string | null) => (value === null ? undefined : Number(value));
  return {
    id: row.id,
    tenant: row.tenant,
    commandType: row.command_type,
    aggregateId: row.aggregate_id,
    payload: parse(row.payload),
    runAt: Number(row.run_at),
    identity: parse(row.identity) as Identity,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    createdAt: Number(row.created_at),
    status: row.status as ScheduleStatus,
    attempts: row.attempts,
    ...(row.max_attempts === null ? {} : { maxAttempts: row.max_attempts }),
    ...(row.claim_owner === null ? {} : { claimOwner: row.claim_owner }),
    ...(row.lease_until === null ? {} : { leaseUntil: optional(row.lease_until) }),
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.outcome === null ? {} : { outcome: parse(row.outcome) }),
    ...(row.finished_at === null ? {} : { finishedAt: optional(row.finished_at) }),
    ...(row.traceparent === null ? {} : { traceparent: row.traceparent }),
  };
}
