import type Database from "better-sqlite3";
import type { NewSchedule } from "../schedule-store.js";

/** The columns a new schedule fills, in the order of INSERT_SCHEDULE's values. */
export const INSERT_SCHEDULE =
  "INSERT INTO schedules (id, tenant, command_type, aggregate_id, payload, run_at, identity, correlation_id, causation_id, created_at, traceparent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING";

/** A schedule's values for INSERT_SCHEDULE. */
export function scheduleValues(tenant: string, s: NewSchedule): unknown[] {
  return [s.id, tenant, s.commandType, s.aggregateId, JSON.stringify(s.payload), s.runAt, JSON.stringify(s.identity), s.correlationId, s.causationId, s.createdAt, s.traceparent ?? null];
}

/** Stores an append's schedules (their JSON as the writer wire carries it) inside the writer's open transaction. */
export function insertSchedulesOf(db: Database.Database): (tenant: string, schedulesJson: string) => void {
  const insert = db.prepare(INSERT_SCHEDULE);
  return (tenant, schedulesJson) => {
    for (const s of JSON.parse(schedulesJson) as NewSchedule[]) insert.run(...scheduleValues(tenant, s));
  };
}
