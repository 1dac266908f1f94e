import pg from "pg";
import { storeErrorOf } from "../store/postgres/postgres-errors.js";
import type { ConsumerLease, ReactionLedger } from "./ledger.js";

/**
 * The reaction ledger on PostgreSQL, on a small pool of its own beside the store's (whose
 * migrations made the tables). Leases run on the database's clock, as the async projections' do (one consumers table); a claim locks the consumer's row, so replicas claiming at once
 * take turns and one wins; pg's failures arrive as StoreUnavailableError, which the runner retries.
 */
export function openPostgresLedger(connectionString: string): ReactionLedger {
  const pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: 5000, lock_timeout: 5000 });
  pool.on("error", () => undefined); // a dropped idle connection: the next query opens another
  const run = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw storeErrorOf(error);
    }
  };
  return {
    claim: (name, owner, ttlMs) =>
      run(async () => {
        await pool.query("INSERT INTO consumers (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", [name]);
        // The update locks the row: of replicas claiming at once, the later ones see the winner's lease and take nothing.
        const { rows } = await pool.query<{ position: string; owner: string; taken: boolean }>(
          `WITH taken AS (UPDATE consumers SET owner = $2, lease_expires = now() + $3 * interval '1 millisecond'
                          WHERE name = $1 AND (owner = $2 OR owner = '' OR lease_expires <= now()) RETURNING position, owner)
           SELECT position, owner, true AS taken FROM taken
           UNION ALL SELECT position, owner, false FROM consumers WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
          [name, owner, ttlMs],
        );
        const row = rows[0];
        return { held: row.taken, owner: row.owner, position: Number(row.position) };
      }),
    commit: (name, owner, position, settledEventId) =>
      run(async () => {
        const { rows } = await pool.query<{ committed: boolean }>(
          `WITH moved AS (UPDATE consumers SET position = $3 WHERE name = $1 AND owner = $2 RETURNING 1),
                settled AS (DELETE FROM reaction_marks WHERE reaction = $1 AND event_id = $4 AND EXISTS (SELECT 1 FROM moved))
           SELECT EXISTS (SELECT 1 FROM moved) AS committed`,
          [name, owner, position, settledEventId ?? null],
        );
        return rows[0].committed ? "committed" : "lease-lost";
      }),
    release: (name, owner) => run(async () => void (await pool.query("UPDATE consumers SET lease_expires = '-infinity' WHERE name = $1 AND owner = $2", [name, owner]))),
    effectsDone: (name, eventId) =>
      run(async () => (await pool.query<{ done: number }>("SELECT done FROM reaction_marks WHERE reaction = $1 AND event_id = $2", [name, eventId])).rows[0]?.done),
    noteEffects: (name, eventId, done) =>
      run(async () => {
        await pool.query(
          "INSERT INTO reaction_marks (reaction, event_id, done, started_at) VALUES ($1, $2, $3, $4) ON CONFLICT (reaction, event_id) DO UPDATE SET done = excluded.done",
          [name, eventId, done, Date.now()],
        );
      }),
    close: () => pool.end(),
  };
}
