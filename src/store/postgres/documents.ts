import { createHash } from "node:crypto";
import type pg from "pg";
import { findDocumentsSql } from "../document-sql.js";
import { builtSettingOf, type CollectionSwap, type ConsumerLease, type DocumentRow, type EventStore, type IndexedValue, type ProjectionCommit } from "../event-store.js";
import { checkOut } from "./check-out.js";
import { APPEND_LOCK } from "./schema.js";

type Query = <R extends pg.QueryResultRow>(statement: { name: string; text: string }, values: unknown[]) => Promise<R[]>;

/** pg parses jsonb, hands a double back as a number and a bigint as a string. */
interface Row {
  readonly id: string;
  readonly version: number;
  readonly data: unknown;
  readonly order_value?: IndexedValue | null;
}

const SQL = {
  fetch: { name: "switchyard_fetch_document", text: "SELECT id, version, data FROM documents WHERE tenant = $1 AND collection = $2 AND id = $3" },
  ensureConsumer: { name: "switchyard_ensure_consumer", text: "INSERT INTO consumers (name) VALUES ($1) ON CONFLICT (name) DO NOTHING" },
  claim: {
    name: "switchyard_claim_consumer",
    text: `UPDATE consumers SET owner = $2, lease_expires = now() + $3 * interval '1 millisecond'
           WHERE name = $1 AND (owner = $2 OR owner = '' OR lease_expires <= now()) RETURNING position`,
  },
  keepSetting: { name: "switchyard_keep_setting", text: "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING" },
  setting: { name: "switchyard_setting", text: "SELECT value FROM settings WHERE name = $1" },
  consumer: { name: "switchyard_consumer", text: "SELECT owner, position FROM consumers WHERE name = $1" },
} as const;

/** Rows of a page, whatever statement read them. */
function rowOf(row: Row): DocumentRow {
  return { id: row.id, version: row.version, data: row.data, ...(row.order_value === undefined || row.order_value === null ? {} : { orderValue: row.order_value }) };
}

/**
 * The read-model methods of the PostgreSQL store: document reads on the pool; consumer leases
 * guarded by the database's clock (replicas' clocks may drift); an async projection's
 * documents and checkpoint in one transaction that first locks its consumer row and checks
 * the owner and checkpoint, so a replica whose lease was taken, or whose checkpoint a
 * rebuild moved, commits nothing.
 */
export function documentMethods(pool: pg.Pool, query: Query, failed: (error: unknown) => unknown): Required<
  Pick<EventStore, "fetchDocument" | "findDocuments" | "claimConsumer" | "commitProjection" | "consumerCheckpoint" | "dropCollection" | "sharedSetting" | "replaceCollection">
> {
  return {
    async fetchDocument(tenant, collection, id) {
      const [row] = await query<Row>(SQL.fetch, [tenant, collection, id]);
      return row && rowOf(row);
    },
    async findDocuments(tenant, collection, documentQuery) {
      const [text, values] = findDocumentsSql(tenant, collection, documentQuery);
      // Named by its text: pg prepares each shape once per connection.
      const rows = await query<Row>({ name: `switchyard_find_${createHash("sha1").update(text).digest("hex")}`, text }, values);
      return rows.map(rowOf);
    },
    async claimConsumer(name, owner, ttlMs): Promise<ConsumerLease> {
      await query(SQL.ensureConsumer, [name]);
      const [taken] = await query<{ position: string }>(SQL.claim, [name, owner, ttlMs]);
      if (taken) return { held: true, owner, position: Number(taken.position) };
      const [row] = await query<{ owner: string; position: string }>(SQL.consumer, [name]);
      // Deleted meanwhile (a rebuild's swap forgets its consumer): not held; the next claim makes it anew.
      if (!row) return { held: false, owner: "", position: 0 };
      return { held: row.owner === owner, owner: row.owner, position: Number(row.position) };
    },
    async consumerCheckpoint(name) {
      const [row] = await query<{ owner: string; position: string }>(SQL.consumer, [name]);
      return row ? Number(row.position) : 0;
    },
    async commitProjection(commit: ProjectionCommit) {
      let client: pg.PoolClient;
      try {
        client = await checkOut(pool);
      } catch (error) {
        throw failed(error);
      }
      try {
        await client.query("BEGIN");
        const consumer = (await client.query<{ owner: string; position: string }>("SELECT owner, position FROM consumers WHERE name = $1 FOR UPDATE", [commit.name])).rows[0];
        if (consumer?.owner !== commit.owner || Number(consumer.position) !== commit.from) {
          await client.query("ROLLBACK");
          return "lease-lost";
        }
        const byTenant = new Map<string, unknown[]>();
        for (const { tenant, ...d } of commit.documents) {
          const document = d.document === null || d.document === undefined ? null : JSON.stringify(d.document);
          byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), { collection: d.collection, id: d.id, expectedVersion: d.expectedVersion ?? null, document, fields: d.fields }]);
        }
        for (const [tenant, documents] of byTenant) {
          const clash = (await client.query<{ clash: unknown }>("SELECT switchyard_document_clash($1, $2::jsonb) AS clash", [tenant, JSON.stringify(documents)])).rows[0].clash;
          if (clash) throw new Error(`document ${JSON.stringify(clash)} of tenant "${tenant}" changed under its only writer`);
          await client.query("SELECT switchyard_write_documents($1, $2::jsonb)", [tenant, JSON.stringify(documents)]);
        }
        await client.query("UPDATE consumers SET position = $2 WHERE name = $1", [commit.name, commit.position]);
        await client.query("COMMIT");
        return "committed";
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw failed(error);
      } finally {
        client.release();
      }
    },
    async sharedSetting(name, initial) {
      await query(SQL.keepSetting, [name, initial]);
      const [row] = await query<{ value: string }>(SQL.setting, [name]);
      return row.value;
    },
    async replaceCollection(swap: CollectionSwap) {
      let client: pg.PoolClient;
      try {
        client = await checkOut(pool);
      } catch (error) {
        throw failed(error);
      }
      try {
        await client.query("BEGIN");
        // The append lock: no batch commits meanwhile, so the head checked stays the head.
        await client.query(`SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
        const head = Number((await client.query<{ head: string }>("SELECT coalesce(max(position), 0) AS head FROM events")).rows[0].head);
        // The rebuild's consumer, then the live one, locked before any document: a projection's commit locks its consumer first too.
        const rebuilt = (await client.query<{ owner: string; position: string }>("SELECT owner, position FROM consumers WHERE name = $1 FOR UPDATE", [swap.rebuildConsumer])).rows[0];
        if (head !== swap.head || rebuilt?.owner !== swap.owner || Number(rebuilt.position) !== swap.head) {
          await client.query("ROLLBACK");
          return "moved";
        }
        if (swap.liveConsumer) await client.query("SELECT 1 FROM consumers WHERE name = $1 FOR UPDATE", [swap.liveConsumer]);
        await client.query(
          `CREATE TEMP TABLE switchyard_swap ON COMMIT DROP AS
           SELECT s.tenant, s.id, s.version + coalesce(t.version, 0) AS version, s.data
           FROM documents s LEFT JOIN documents t ON t.tenant = s.tenant AND t.collection = $1 AND t.id = s.id WHERE s.collection = $2`,
          [swap.target, swap.source],
        );
        await client.query("DELETE FROM document_fields WHERE collection = $1", [swap.target]);
        await client.query("DELETE FROM documents WHERE collection = $1", [swap.target]);
        await client.query("INSERT INTO documents (tenant, collection, id, version, data) SELECT tenant, $1, id, version, data FROM switchyard_swap", [swap.target]);
        await client.query("UPDATE document_fields SET collection = $1 WHERE collection = $2", [swap.target, swap.source]);
        await client.query("DELETE FROM documents WHERE collection = $1", [swap.source]);
        await client.query("DELETE FROM consumers WHERE name = $1", [swap.rebuildConsumer]);
        if (swap.liveConsumer) {
          await client.query(
            "INSERT INTO consumers (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = excluded.position, owner = '', lease_expires = '-infinity'",
            [swap.liveConsumer, swap.head],
          );
        }
        await client.query("INSERT INTO settings (name, value) VALUES ($1, 'yes') ON CONFLICT (name) DO UPDATE SET value = 'yes'", [builtSettingOf(swap.target)]);
        await client.query("COMMIT");
        return "replaced";
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw failed(error);
      } finally {
        client.release();
      }
    },
    async dropCollection(collection) {
      await pool.query("DELETE FROM document_fields WHERE collection = $1", [collection]).catch((error: unknown) => Promise.reject(failed(error)));
      await pool.query("DELETE FROM documents WHERE collection = $1", [collection]).catch((error: unknown) => Promise.reject(failed(error)));
    },
  };
}
