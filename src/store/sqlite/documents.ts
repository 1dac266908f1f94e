import type Database from "better-sqlite3";
import { builtSettingOf, type CollectionSwap, type ConsumerLease, type DocumentQuery, DocumentRow, DocumentWrite, IndexedValue } from "../event-store.js";
import { atOnce, type LockWait } from "./turn-taking.js";
import { documentSlots, FIELD_SLOTS, findDocumentsSqlite, SLOT_COLUMNS, slotValuesOf } from "./document-columns.js";

/**
 * A document write as the writer gets it: collection, id, the version it must be at (-1: it
 * must not exist), its JSON ("null" deletes it) and the JSON of its field values.
 */
export type WireDocument = readonly [collection: string, id: string, expectedVersion: number, data: string, fields: string];

/** A document write in its wire form; throws for a document JSON cannot hold. */
export function wireDocumentOf(d: DocumentWrite): WireDocument {
  const data = JSON.stringify(d.document ?? null);
  if (data === undefined) throw new TypeError(`document ${d.collection}/${d.id} is not a JSON value`);
  return [d.collection, d.id, d.expectedVersion ?? -1, data, JSON.stringify(d.fields)];
}

/** The document writes of the SQLite store, inside a transaction its caller opened. */
export function documentWriter(db: Database.Database) {
  const slots = documentSlots(db);
  const sql = {
    version: db.prepare("SELECT version FROM documents WHERE tenant = ? AND collection = ? AND id = ?").pluck(),
    insert: db.prepare(`INSERT INTO documents (tenant, collection, id, version, data, ${SLOT_COLUMNS}) VALUES (?, ?, ?, 1, ?${", ?".repeat(FIELD_SLOTS)})`),
    delete: db.prepare("DELETE FROM documents WHERE tenant = ? AND collection = ? AND id = ?"),
    stored: db.prepare(`SELECT ${SLOT_COLUMNS} FROM documents WHERE tenant = ? AND collection = ? AND id = ?`).raw(),
  };
  /** UPDATE statements by the slots they set: only the changed fields' indexes are touched. */
  const updates = new Map<string, Database.Statement>();
  const update = (changed: readonly number[]) => {
    const key = changed.join(",");
    let statement = updates.get(key);
    if (!statement) {
      const set = changed.map((slot) => `, f${slot} = ?`).join("");
      statement = db.prepare(`UPDATE documents SET version = version + 1, data = ?${set} WHERE tenant = ? AND collection = ? AND id = ?`);
      updates.set(key, statement);
    }
    return statement;
  };
  return {
    /** The first document whose version is not the one expected, or undefined when all are. */
    clash(tenant: string, documents: readonly WireDocument[]): WireDocument | undefined {
      return documents.find(([collection, id, expected]) => ((sql.version.get(tenant, collection, id) as number | undefined) ?? -1) !== expected);
    },
    write(tenant: string, [collection, id, expected, data, fields]: WireDocument): void {
      if (data === "null") {
        sql.delete.run(tenant, collection, id);
        return;
      }
      const row = slotValuesOf(slots, collection, JSON.parse(fields) as Record<string, IndexedValue>);
      if (expected === -1) {
        sql.insert.run(tenant, collection, id, data, ...row);
        return;
      }
      // The row the version guard has just read: its page is at hand.
      const before = sql.stored.get(tenant, collection, id) as (IndexedValue | null)[];
      const changed: number[] = [];
      for (let slot = 0; slot < FIELD_SLOTS; slot++) if (row[slot] !== before[slot]) changed.push(slot);
      update(changed).run(data, ...changed.map((slot) => row[slot]), tenant, collection, id);
    },
  };
}

/** Consumer leases and checkpoints, and async projections' commits, as the writer runs them. */
export type ConsumerTask =
  | readonly [kind: "claim", name: string, owner: string, ttlMs: number]
  | readonly [kind: "commit", name: string, owner: string, from: number, position: number, documents: readonly (readonly [tenant: string, document: WireDocument])[]]
  | readonly [kind: "drop", collection: string]
  | readonly [kind: "setting", name: string, initial: string]
  | readonly [kind: "replace", swap: CollectionSwap];

/** What a task answers: the lease (claim), "committed" or "lease-lost" (commit), "dropped". */
export type ConsumerAnswer = ConsumerLease | "committed" | "lease-lost" | "dropped" | { readonly setting: string } | "replaced" | "moved";

/** Runs consumer tasks, each in its own write transaction, on the connection that writes (`lock` as for batches). */
export function consumerTasks(db: Database.Database, lock: LockWait = atOnce) {
  const documents = documentWriter(db);
  const slots = documentSlots(db);
  const sql = {
    ensure: db.prepare("INSERT INTO consumers (name) VALUES (?) ON CONFLICT (name) DO NOTHING"),
    get: db.prepare("SELECT position, owner, lease_expires FROM consumers WHERE name = ?"),
    take: db.prepare("UPDATE consumers SET owner = ?, lease_expires = ? WHERE name = ?"),
    checkpoint: db.prepare("UPDATE consumers SET position = ? WHERE name = ?"),
    dropDocuments: db.prepare("DELETE FROM documents WHERE collection = ?"),
    keepSetting: db.prepare("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"),
    setting: db.prepare("SELECT value FROM settings WHERE name = ?").pluck(),
    head: db.prepare("SELECT coalesce(max(position), 0) FROM events").pluck(),
    renamePending: db.prepare("UPDATE documents SET collection = :target WHERE collection = :pending"),
    forgetConsumer: db.prepare("DELETE FROM consumers WHERE name = ?"),
    moveConsumer: db.prepare(
      "INSERT INTO consumers (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position, owner = '', lease_expires = 0",
    ),
    built: db.prepare("INSERT INTO settings (name, value) VALUES (?, 'yes') ON CONFLICT (name) DO UPDATE SET value = 'yes'"),
  };
  /**
   * Copies the source collection's documents under `pending`, each field moved from its slot
   * in the source to its slot in the target (the two may differ), its version summed with the
   * one it replaces.
   */
  const copyForSwap = (swap: CollectionSwap, pending: string) => {
    const moves = [...slots.all(swap.source)].map(([field, slot]) => [slots.assign(swap.target, field), slot] as const);
    db.prepare(
      `INSERT INTO documents (tenant, collection, id, version, data${moves.map(([to]) => `, f${to}`).join("")})
       SELECT s.tenant, :pending, s.id, s.version + coalesce((SELECT t.version FROM documents t WHERE t.tenant = s.tenant AND t.collection = :target AND t.id = s.id), 0), s.data${moves.map(([, from]) => `, s.f${from}`).join("")}
       FROM documents s WHERE s.collection = :source`,
    ).run({ pending, target: swap.target, source: swap.source });
  };
  const run = db.transaction((task: ConsumerTask): ConsumerAnswer => {
    if (task[0] === "drop") {
      sql.dropDocuments.run(task[1]);
      return "dropped";
    }
    if (task[0] === "replace") {
      const swap = task[1];
      if (sql.head.get() !== swap.head) return "moved";
      const rebuilt = sql.get.get(swap.rebuildConsumer) as { position: number; owner: string } | undefined;
      if (rebuilt?.owner !== swap.owner || rebuilt.position !== swap.head) return "moved";
      // The new documents are written under a pending name first: their versions are summed with the ones they replace.
      const pending = `${swap.target}\u0000pending`;
      copyForSwap(swap, pending);
      sql.dropDocuments.run(swap.target);
      sql.renamePending.run({ target: swap.target, pending });
      sql.dropDocuments.run(swap.source);
      sql.forgetConsumer.run(swap.rebuildConsumer);
      if (swap.liveConsumer) sql.moveConsumer.run(swap.liveConsumer, swap.head);
      sql.built.run(builtSettingOf(swap.target));
      return "replaced";
    }
    if (task[0] === "setting") {
      sql.keepSetting.run(task[1], task[2]);
      return { setting: sql.setting.get(task[1]) as string };
    }
    const [, name, owner] = task;
    sql.ensure.run(name);
    const row = sql.get.get(name) as { position: number; owner: string; lease_expires: number };
    const now = Date.now();
    const free = row.owner === owner || row.owner === "" || row.lease_expires <= now;
    if (task[0] === "claim") {
      if (!free) return { held: false, owner: row.owner, position: row.position };
      sql.take.run(owner, now + task[3], name);
      return { held: true, owner, position: row.position };
    }
    // A commit needs the lease still held: an owner whose lease expired and was taken is refused,
    // and so is one whose checkpoint was moved under it (a rebuild's swap moves a live consumer).
    const [, , , from, position, written] = task;
    if (row.owner !== owner || row.position !== from) return "lease-lost";
    for (const [tenant, document] of written) {
      if (documents.clash(tenant, [document])) throw new Error(`document ${document[0]}/${document[1]} of tenant "${tenant}" changed under its only writer`);
      documents.write(tenant, document);
    }
    sql.checkpoint.run(position, name);
    return "committed";
  });
  // IMMEDIATE: the write lock is taken at BEGIN, so a second process waits there (busy_timeout) instead of failing on upgrade.
  return (task: ConsumerTask): ConsumerAnswer =>
    lock(() => {
      try {
        return run.immediate(task);
      } catch (error) {
        slots.forget(); // slots it gave were rolled back with it
        throw error;
      }
    });
}

/** The document reads of the SQLite store, on its reading connection. */
export function documentReader(db: Database.Database) {
  const slots = documentSlots(db);
  const fetch = db.prepare("SELECT id, version, data FROM documents WHERE tenant = ? AND collection = ? AND id = ?");
  const checkpoint = db.prepare("SELECT position FROM consumers WHERE name = ?").pluck();
  /** Find statements by their SQL: a handful of shapes per collection. */
  const statements = new Map<string, Database.Statement>();
  return {
    fetch(tenant: string, collection: string, id: string): DocumentRow | undefined {
      const row = fetch.get(tenant, collection, id) as { id: string; version: number; data: string } | undefined;
      return row && { id: row.id, version: row.version, data: JSON.parse(row.data) };
    },
    checkpoint(name: string): number {
      return (checkpoint.get(name) as number | undefined) ?? 0;
    },
    find(tenant: string, collection: string, query: DocumentQuery): DocumentRow[] {
      const sql = findDocumentsSqlite(tenant, collection, query, (field) => slots.of(collection, field));
      if (!sql) return []; // a field no document of the collection has had matches nothing
      const [text, values] = sql;
      let statement = statements.get(text);
      if (!statement) {
        if (statements.size >= 256) statements.clear();
        statement = db.prepare(text);
        statements.set(text, statement);
      }
      const rows = statement.all(...values) as { id: string; version: number; data: string; order_value?: IndexedValue }[];
      return rows.map((row) => ({ id: row.id, version: row.version, data: JSON.parse(row.data), ...(row.order_value === undefined ? {} : { orderValue: row.order_value }) }));
    },
  };
}
