import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { scheduleOf, type ScheduleRow } from "../schedule-rows.js";
import type { ClaimedSchedule, ScheduleStore } from "../schedule-store.js";
import { INSERT_SCHEDULE, scheduleValues } from "./schedule-rows.js";
import { storeErrorOf } from "./sqlite-errors.js";

const parse = (column: unknown) => (typeof column === "string" ? JSON.parse(column) : column);

/**
 * The SQLite schedules table (schedule-store.ts). Each change is one statement in autocommit,
 * so a claim or a completion is atomic under SQLite's write lock, across processes on one
 * file. It writes on the connection it is given: for a file, one of its own with a short
 * busy_timeout, as these writes are a few small rows and a wait blocks the event loop
 * (running them on the writer thread would queue them behind the appends they wait for).
 */
export function sqliteScheduleStore(db: Database.Database): ScheduleStore {
  const sql = {
    add: db.prepare(INSERT_SCHEDULE),
    addDeadLetter: db.prepare(
      `INSERT INTO schedules (id, tenant, command_type, aggregate_id, payload, run_at, identity, correlation_id, causation_id, created_at, traceparent, status, last_error, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'dead', ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    get: db.prepare("SELECT * FROM schedules WHERE tenant = ? AND id = ?"),
    list: db.prepare(
      "SELECT * FROM schedules WHERE tenant = ? AND status IN (SELECT value FROM json_each(?)) AND id > ? ORDER BY id LIMIT ?",
    ),
    // A claimed schedule is next claimable when its lease runs out; claims are few, waiting ones many (the index serves them in order).
    nextDue: db
      .prepare(
        `SELECT min(coalesce((SELECT run_at FROM schedules WHERE status = 'pending' AND lease_until IS NULL ORDER BY run_at LIMIT 1), 9e15),
                    coalesce((SELECT min(lease_until) + 1 FROM schedules WHERE status = 'pending' AND lease_until IS NOT NULL), 9e15))`,
      )
      .pluck(),
    claim: db.prepare(
      `UPDATE schedules SET claim = ?, claim_owner = ?, lease_until = ?, attempts = attempts + 1
       WHERE id IN (SELECT id FROM schedules WHERE status = 'pending' AND run_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY run_at LIMIT ?)
       RETURNING *`,
    ),
    finish: db.prepare(
      "UPDATE schedules SET status = ?, outcome = ?, finished_at = ?, claim = NULL, lease_until = NULL WHERE id = ? AND claim = ? AND status = 'pending'",
    ),
    retryLater: db.prepare(
      "UPDATE schedules SET run_at = ?, last_error = ?, claim = NULL, lease_until = NULL WHERE id = ? AND claim = ? AND status = 'pending'",
    ),
    bury: db.prepare(
      "UPDATE schedules SET status = 'dead', last_error = ?, finished_at = ?, claim = NULL, lease_until = NULL WHERE id = ? AND claim = ? AND status = 'pending'",
    ),
    cancel: db.prepare(
      "UPDATE schedules SET status = 'cancelled', finished_at = ? WHERE tenant = ? AND id = ? AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?)",
    ),
    revive: db.prepare(
      "UPDATE schedules SET status = 'pending', run_at = ?, max_attempts = attempts + 1, finished_at = NULL WHERE tenant = ? AND id = ? AND status = 'dead'",
    ),
    discard: db.prepare("UPDATE schedules SET status = 'discarded', finished_at = ? WHERE tenant = ? AND id = ? AND status = 'dead'"),
    counts: db.prepare(
      `SELECT coalesce(sum(status = 'pending' AND run_at <= ?), 0) AS due,
              coalesce(sum(status = 'pending' AND run_at <= ? - 1000), 0) AS overdue,
              coalesce(sum(status = 'dead'), 0) AS deadLetters
       FROM schedules WHERE status IN ('pending', 'dead')`,
    ),
  };

  /** Runs a statement, turning SQLite's failures (a busy file) into StoreUnavailableError. */
  function run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(storeErrorOf(error));
    }
  }

  return {
    add: (tenant, schedule) => run(() => sql.add.run(...scheduleValues(tenant, schedule)).changes === 1),
    addDeadLetter: (tenant, schedule, lastError, now) => run(() => sql.addDeadLetter.run(...scheduleValues(tenant, schedule), lastError, now).changes === 1),
    get: (tenant, id) =>
      run(() => {
        const row = sql.get.get(tenant, id) as ScheduleRow | undefined;
        return row && scheduleOf(row, parse);
      }),
    list: (tenant, query) =>
      run(() =>
        (sql.list.all(tenant, JSON.stringify(query.statuses), query.afterId ?? "", query.limit) as ScheduleRow[]).map((row) => scheduleOf(row, parse)),
      ),
    nextDue: () =>
      run(() => {
        const next = sql.nextDue.get() as number;
        return next >= 9e15 ? undefined : next;
      }),
    claim: (owner, now, leaseMs, limit) =>
      run(() => {
        const claim = randomUUID();
        const rows = sql.claim.all(claim, owner, now + leaseMs, now, now, limit) as ScheduleRow[];
        return rows.map((row): ClaimedSchedule => ({ ...scheduleOf(row, parse), claim }));
      }),
    finish: (id, claim, status, outcome, now) => run(() => sql.finish.run(status, JSON.stringify(outcome), now, id, claim).changes === 1),
    retryLater: (id, claim, runAt, lastError) => run(() => sql.retryLater.run(runAt, lastError, id, claim).changes === 1),
    bury: (id, claim, lastError, now) => run(() => sql.bury.run(lastError, now, id, claim).changes === 1),
    cancel: (tenant, id, now) => run(() => sql.cancel.run(now, tenant, id, now).changes === 1),
    revive: (tenant, id, now) => run(() => sql.revive.run(now, tenant, id).changes === 1),
    discard: (tenant, id, now) => run(() => sql.discard.run(now, tenant, id).changes === 1),
    counts: (now) => run(() => sql.counts.get(now, now) as { due: number; overdue: number; deadLetters: number }),
  };
}
