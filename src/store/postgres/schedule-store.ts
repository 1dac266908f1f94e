import { randomUUID } from "node:crypto";
import type pg from "pg";
import { scheduleOf, type ScheduleRow } from "../schedule-rows.js";
import type { ClaimedSchedule, NewSchedule, ScheduleStore } from "../schedule-store.js";

/** Runs one named statement on the store's pool, with its failures mapped as the store's. */
type Query = <R extends pg.QueryResultRow>(statement: { name: string; text: string }, values: unknown[]) => Promise<R[]>;

/** pg parses json columns itself. */
const parsed = (column: unknown) => column;

/** Named statements; conditional updates answer the ids they changed, so a caller knows whether it won. */
const SQL = {
  add: {
    name: "switchyard_schedule_add",
    text: `INSERT INTO schedules (id, tenant, command_type, aggregate_id, payload, run_at, identity, correlation_id, causation_id, created_at, traceparent)
           VALUES ($1, $2, $3, $4, $5::json, $6, $7::json, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING RETURNING id`,
  },
  addDeadLetter: {
    name: "switchyard_schedule_add_dead_letter",
    text: `INSERT INTO schedules (id, tenant, command_type, aggregate_id, payload, run_at, identity, correlation_id, causation_id, created_at, traceparent, status, last_error, finished_at)
           VALUES ($1, $2, $3, $4, $5::json, $6, $7::json, $8, $9, $10, $11, 'dead', $12, $13) ON CONFLICT (id) DO NOTHING RETURNING id`,
  },
  get: { name: "switchyard_schedule_get", text: "SELECT * FROM schedules WHERE tenant = $1 AND id = $2" },
  list: {
    name: "switchyard_schedule_list",
    text: "SELECT * FROM schedules WHERE tenant = $1 AND status = ANY($2::text[]) AND id > $3 ORDER BY id LIMIT $4",
  },
  // A claimed schedule is next claimable when its lease runs out; claims are few, waiting ones many (the index serves them in order).
  nextDue: {
    name: "switchyard_schedule_next_due",
    text: `SELECT least((SELECT run_at FROM schedules WHERE status = 'pending' AND lease_until IS NULL ORDER BY run_at LIMIT 1),
                        (SELECT min(lease_until) + 1 FROM schedules WHERE status = 'pending' AND lease_until IS NOT NULL)) AS next`,
  },
  // SKIP LOCKED: replicas claiming at once take different rows instead of waiting on each other's.
  claim: {
    name: "switchyard_schedule_claim",
    text: `UPDATE schedules SET claim = $1, claim_owner = $2, lease_until = $3, attempts = attempts + 1
           WHERE id IN (SELECT id FROM schedules WHERE status = 'pending' AND run_at <= $4 AND (lease_until IS NULL OR lease_until < $4)
                        ORDER BY run_at LIMIT $5 FOR UPDATE SKIP LOCKED)
           RETURNING *`,
  },
  finish: {
    name: "switchyard_schedule_finish",
    text: `UPDATE schedules SET status = $1, outcome = $2::json, finished_at = $3, claim = NULL, lease_until = NULL
           WHERE id = $4 AND claim = $5 AND status = 'pending' RETURNING id`,
  },
  retryLater: {
    name: "switchyard_schedule_retry_later",
    text: "UPDATE schedules SET run_at = $1, last_error = $2, claim = NULL, lease_until = NULL WHERE id = $3 AND claim = $4 AND status = 'pending' RETURNING id",
  },
  bury: {
    name: "switchyard_schedule_bury",
    text: `UPDATE schedules SET status = 'dead', last_error = $1, finished_at = $2, claim = NULL, lease_until = NULL
           WHERE id = $3 AND claim = $4 AND status = 'pending' RETURNING id`,
  },
  cancel: {
    name: "switchyard_schedule_cancel",
    text: `UPDATE schedules SET status = 'cancelled', finished_at = $1
           WHERE tenant = $2 AND id = $3 AND status = 'pending' AND (lease_until IS NULL OR lease_until < $1) RETURNING id`,
  },
  revive: {
    name: "switchyard_schedule_revive",
    text: `UPDATE schedules SET status = 'pending', run_at = $1, max_attempts = attempts + 1, finished_at = NULL
           WHERE tenant = $2 AND id = $3 AND status = 'dead' RETURNING id`,
  },
  discard: {
    name: "switchyard_schedule_discard",
    text: "UPDATE schedules SET status = 'discarded', finished_at = $1 WHERE tenant = $2 AND id = $3 AND status = 'dead' RETURNING id",
  },
  counts: {
    name: "switchyard_schedule_counts",
    text: `SELECT count(*) FILTER (WHERE status = 'pending' AND run_at <= $1) AS due,
                  count(*) FILTER (WHERE status = 'pending' AND run_at <= $1 - 1000) AS overdue,
                  count(*) FILTER (WHERE status = 'dead') AS dead
           FROM schedules WHERE status IN ('pending', 'dead')`,
  },
} as const;

function values(tenant: string, s: NewSchedule): unknown[] {
  return [s.id, tenant, s.commandType, s.aggregateId, JSON.stringify(s.payload), s.runAt, JSON.stringify(s.identity), s.correlationId, s.causationId, s.createdAt, s.traceparent ?? null];
}

/**
 * The PostgreSQL schedules table (schedule-store.ts): each change is one statement, so a
 * claim or a completion is atomic across replicas; the store's pool runs them.
 */
export function postgresScheduleStore(query: Query): ScheduleStore {
  const changed = async (statement: { name: string; text: string }, args: unknown[]) => (await query(statement, args)).length === 1;
  return {
    add: (tenant, schedule) => changed(SQL.add, values(tenant, schedule)),
    addDeadLetter: (tenant, schedule, lastError, now) => changed(SQL.addDeadLetter, [...values(tenant, schedule), lastError, now]),
    async get(tenant, id) {
      const [row] = await query<ScheduleRow & pg.QueryResultRow>(SQL.get, [tenant, id]);
      return row && scheduleOf(row, parsed);
    },
    async list(tenant, q) {
      const rows = await query<ScheduleRow & pg.QueryResultRow>(SQL.list, [tenant, q.statuses, q.afterId ?? "", q.limit]);
      return rows.map((row) => scheduleOf(row, parsed));
    },
    async nextDue() {
      const [row] = await query<{ next: string | null }>(SQL.nextDue, []);
      return row?.next === null || row === undefined ? undefined : Number(row.next);
    },
    async claim(owner, now, leaseMs, limit) {
      const claim = randomUUID();
      const rows = await query<ScheduleRow & pg.QueryResultRow>(SQL.claim, [claim, owner, now + leaseMs, now, limit]);
      return rows.map((row): ClaimedSchedule => ({ ...scheduleOf(row, parsed), claim }));
    },
    finish: (id, claim, status, outcome, now) => changed(SQL.finish, [status, JSON.stringify(outcome), now, id, claim]),
    retryLater: (id, claim, runAt, lastError) => changed(SQL.retryLater, [runAt, lastError, id, claim]),
    bury: (id, claim, lastError, now) => changed(SQL.bury, [lastError, now, id, claim]),
    cancel: (tenant, id, now) => changed(SQL.cancel, [now, tenant, id]),
    revive: (tenant, id, now) => changed(SQL.revive, [now, tenant, id]),
    discard: (tenant, id, now) => changed(SQL.discard, [now, tenant, id]),
    async counts(now) {
      const [row] = await query<{ due: string; overdue: string; dead: string }>(SQL.counts, [now]);
      return { due: Number(row.due), overdue: Number(row.overdue), deadLetters: Number(row.dead) };
    },
  };
}
