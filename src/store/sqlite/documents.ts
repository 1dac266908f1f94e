import type Database from "better-sqlite3";
import { builtSettingOf, type CollectionSwap, type ConsumerLease, type DocumentQuery, DocumentRow, DocumentWrite, IndexedValue } from "../event-store.js";
import { findDocumentsSql } from "../document-sql.js";

/**
 * A document write as the writer gets it: collection, id, the version it must be at (-1: it
 * must not exist), its JSON ("null" deletes it), the JSON of its field values, and the JSON
 * of those stored with the expected version ("": not known, the writer reads them).
 */
export type WireDocument = readonly [collection: string, id: string, expectedVersion: number, data: string, fields: string, previousFields: string];

/** A document write in its wire form; throws for a document JSON cannot hold. */
export function wireDocumentOf(d: DocumentWrite): WireDocument {
  const data = JSON.stringify(d.document ?? null);
  if (data === undefined) throw new TypeError(`document ${d.collection}/${d.id} is not a JSON value`);
  const previous = d.previousFields && d.expectedVersion !== undefined ? JSON.stringify(d.previousFields) : "";
  return [d.collection, d.id, d.expectedVersion ?? -1, data, JSON.stringify(d.fields), previous];
}

/** The document writes of the SQLite store, inside a transaction its caller opened. */
export function documentWriter(db: Database.Database) {
  const sql = {
    version: db.prepare("SELECT version FROM documents WHERE tenant = ? AND collection = ? AND id = ?").pluck(),
    insert: db.prepare("INSERT INTO documents (tenant, collection, id, version, data) VALUES (?, ?, ?, 1, ?)"),
    update: db.prepare("UPDATE documents SET version = version + 1, data = ? WHERE tenant = ? AND collection = ? AND id = ?"),
    delete: db.prepare("DELETE FROM documents WHERE tenant = ? AND collection = ? AND id = ?"),
    deleteFields: db.prepare("DELETE FROM document_fields WHERE tenant = ? AND collection = ? AND id = ?"),
    insertField: db.prepare("INSERT INTO document_fields (tenant, collection, id, field, value) VALUES (?, ?, ?, ?, ?)"),
    fields: db.prepare("SELECT field, value FROM document_fields WHERE tenant = ? AND collection = ? AND id = ?").raw(),
    // An upsert: previous fields a writer sent that the row lacks still leave the index right.
    setField: db.prepare(
      "INSERT INTO document_fields (tenant, collection, id, field, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, collection, id, field) DO UPDATE SET value = excluded.value",
    ),
    deleteField: db.prepare("DELETE FROM document_fields WHERE tenant = ? AND collection = ? AND id = ? AND field = ?"),
  };
  return {
    /** The first document whose version is not the one expected, or undefined when all are. */
    clash(tenant: string, documents: readonly WireDocument[]): WireDocument | undefined {
      return documents.find(([collection, id, expected]) => ((sql.version.get(tenant, collection, id) as number | undefined) ?? -1) !== expected);
    },
    write(tenant: string, [collection, id, expected, data, fields, previous]: WireDocument): void {
      if (data === "null") {
        sql.deleteFields.run(tenant, collection, id);
        sql.delete.run(tenant, collection, id);
        return;
      }
      const values = JSON.parse(fields) as Record<string, IndexedValue>;
      if (expected === -1) {
        sql.insert.run(tenant, collection, id, data);
        for (const field in values) sql.insertField.run(tenant, collection, id, field, values[field]);
        return;
      }
      sql.update.run(data, tenant, collection, id);
      // Only the fields whose value changed touch the index: a payment changes three of nine.
      // Their stored values come with the write when its writer knew them (the version guard
      // has just checked they are the ones stored), else they are read here.
      const stored = previous
        ? Object.entries(JSON.parse(previous) as Record<string, IndexedValue>)
        : (sql.fields.all(tenant, collection, id) as [string, IndexedValue][]);
      const before = new Map(stored);
      for (const field in values) {
        const value = values[field];
        if (before.get(field) !== value) sql.setField.run(tenant, collection, id, field, value);
        before.delete(field);
      }
      for (const field of before.keys()) sql.deleteField.run(tenant, collection, id, field);
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
export function consumerTasks(db: Database.Database, lock = <T>(write: () => T): T => write()) {
  const documents = documentWriter(db);
  const sql = {
    ensure: db.prepare("INSERT INTO consumers (name) VALUES (?) ON CONFLICT (name) DO NOTHING"),
    get: db.prepare("SELECT position, owner, lease_expires FROM consumers WHERE name = ?"),
    take: db.prepare("UPDATE consumers SET owner = ?, lease_expires = ? WHERE name = ?"),
    checkpoint: db.prepare("UPDATE consumers SET position = ? WHERE name = ?"),
    dropDocuments: db.prepare("DELETE FROM documents WHERE collection = ?"),
    keepSetting: db.prepare("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"),
    setting: db.prepare("SELECT value FROM settings WHERE name = ?").pluck(),
    head: db.prepare("SELECT coalesce(max(position), 0) FROM events").pluck(),
    replaceDocuments: db.prepare(
      `INSERT INTO documents (tenant, collection, id, version, data)
       SELECT s.tenant, :target, s.id, s.version + coalesce((SELECT t.version FROM documents t WHERE t.tenant = s.tenant AND t.collection = :target AND t.id = s.id), 0), s.data
       FROM documents s WHERE s.collection = :source`,
    ),
    replaceFields: db.prepare("INSERT INTO document_fields (tenant, collection, id, field, value) SELECT tenant, :target, id, field, value FROM document_fields WHERE collection = :source"),
    renamePending: db.prepare("UPDATE documents SET collection = :target WHERE collection = :pending"),
    forgetConsumer: db.prepare("DELETE FROM consumers WHERE name = ?"),
    moveConsumer: db.prepare("INSERT INTO consumers (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position"),
    built: db.prepare("INSERT INTO settings (name, value) VALUES (?, 'yes') ON CONFLICT (name) DO UPDATE SET value = 'yes'"),
    dropFields: db.prepare("DELETE FROM document_fields WHERE collection = ?"),
  };
  const run = db.transaction((task: ConsumerTask): ConsumerAnswer => {
    if (task[0] === "drop") {
      sql.dropFields.run(task[1]);
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
      sql.replaceDocuments.run({ target: pending, source: swap.source });
      sql.dropFields.run(swap.target);
      sql.dropDocuments.run(swap.target);
      sql.renamePending.run({ target: swap.target, pending });
      sql.replaceFields.run({ target: swap.target, source: swap.source });
      sql.dropFields.run(swap.source);
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
  return (task: ConsumerTask): ConsumerAnswer => lock(() => run.immediate(task));
}

/** The document reads of the SQLite store, on its reading connection. */
export function documentReader(db: Database.Database) {
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
      const [text, values] = findDocumentsSql("sqlite", tenant, collection, query);
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
