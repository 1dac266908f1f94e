import type Database from "better-sqlite3";
import { MAX_FIELDS } from "../../kernel/projection.js";
import { OPERATORS } from "../document-sql.js";
import type { DocumentCondition, DocumentQuery, IndexedValue } from "../event-store.js";

/**
 * On SQLite a read model's declared fields are columns of the document's own row, f0 to f15,
 * each with a partial index (tenant, collection, fN, id): updating a document rewrites its row
 * and the index entries of the fields that changed, where a row per field in a side table
 * cost a row and an index entry more per field (and a page each in the WAL).
 * `document_slots` says which column holds which field of a collection. A field gets its slot
 * the first time a document of the collection has it, inside that write's transaction, and
 * keeps it: slots are only ever added, so every connection may keep what it has read of them.
 */
export const FIELD_SLOTS = MAX_FIELDS;

const slots = Array.from({ length: FIELD_SLOTS }, (_, i) => i);
const column = (slot: number) => `f${slot}`;
/** f0, f1, ... f15 */
export const SLOT_COLUMNS = slots.map(column).join(", ");

/** The columns the schema step below made: a shipped step never changes, so not MAX_FIELDS. */
const migrated = Array.from({ length: 16 }, (_, i) => i);

/**
 * The schema step from the side table (document_fields) to columns: the slots are given in
 * field-name order per collection, the values moved into the rows, the side table dropped.
 */
export const DOCUMENT_COLUMNS_SQL = `
  CREATE TABLE document_slots (
    collection TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    slot       INTEGER NOT NULL,
    PRIMARY KEY (collection, field),
    UNIQUE (collection, slot)
  ) WITHOUT ROWID;
  ${migrated.map((i) => `ALTER TABLE documents ADD COLUMN ${column(i)};`).join("\n  ")}
  ${migrated.map((i) => `CREATE INDEX documents_by_${column(i)} ON documents (tenant, collection, ${column(i)}, id) WHERE ${column(i)} IS NOT NULL;`).join("\n  ")}
  INSERT INTO document_slots (collection, field, slot)
    SELECT collection, field, slot FROM (
      SELECT collection, field, row_number() OVER (PARTITION BY collection ORDER BY field) - 1 AS slot
      FROM (SELECT DISTINCT collection, field FROM document_fields)
    ) WHERE slot < ${migrated.length};
  ${migrated
    .map(
      (i) => `UPDATE documents SET ${column(i)} = (
    SELECT f.value FROM document_fields f JOIN document_slots s ON s.collection = f.collection AND s.field = f.field
    WHERE s.slot = ${i} AND f.tenant = documents.tenant AND f.collection = documents.collection AND f.id = documents.id);`,
    )
    .join("\n  ")}
  DROP TABLE document_fields;
`;

/**
 * The slots of each collection, read through `db` and kept: a field not known yet is looked up
 * again (another connection may have given it a slot since), and `assign` (the writer's, inside
 * its transaction) gives a new field the next free slot.
 */
function documentSlotsOf(db: Database.Database) {
  const read = db.prepare("SELECT field, slot FROM document_slots WHERE collection = ?").raw();
  const insert = db.prepare("INSERT INTO document_slots (collection, field, slot) VALUES (?, ?, ?)");
  const known = new Map<string, Map<string, number>>();
  const refresh = (collection: string) => {
    const map = new Map(read.all(collection) as [string, number][]);
    known.set(collection, map);
    return map;
  };
  return {
    /** Every field of the collection with its slot, read now. */
    all: (collection: string): ReadonlyMap<string, number> => refresh(collection),
    /** The slot of a field, or undefined when no document of the collection has had it. */
    of(collection: string, field: string): number | undefined {
      const map = known.get(collection);
      return map?.get(field) ?? refresh(collection).get(field);
    },
    /** The slot of a field, given one now if it has none; call inside a write transaction. */
    assign(collection: string, field: string): number {
      const slot = this.of(collection, field);
      if (slot !== undefined) return slot;
      const map = known.get(collection)!;
      const next = map.size;
      if (next >= FIELD_SLOTS) {
        throw new RangeError(`read model ${collection} would index a ${next + 1}th field ("${field.slice(0, 64)}"); SQLite keeps at most ${FIELD_SLOTS}`);
      }
      insert.run(collection, field, next);
      map.set(field, next);
      return next;
    },
    /** Forgets what was read (a write that may have given slots was rolled back). */
    forget(): void {
      known.clear();
    },
  };
}

export type DocumentSlots = ReturnType<typeof documentSlotsOf>;

const byConnection = new WeakMap<Database.Database, DocumentSlots>();

/**
 * The slots as a connection knows them, one registry per connection. A write that gave slots
 * and was rolled back (whole or to a savepoint) must call forget(): the registry then reads
 * them again as the connection sees them.
 */
export function documentSlots(db: Database.Database): DocumentSlots {
  let registry = byConnection.get(db);
  if (!registry) byConnection.set(db, (registry = documentSlotsOf(db)));
  return registry;
}

/**
 * The statement of a keyset page of documents on SQLite, and its parameters; undefined when
 * the query names a field no document of the collection has had (it matches nothing). Ordered
 * by a field, it walks that field's index from the previous page's last (value, id): a deep
 * page seeks where the first one starts, it never skips rows.
 */
export function findDocumentsSqlite(tenant: string, collection: string, query: DocumentQuery, slotOf: (field: string) => number | undefined): [text: string, values: unknown[]] | undefined {
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return "?";
  };
  const fieldColumn = (field: string) => {
    const slot = slotOf(field);
    return slot === undefined ? undefined : column(slot);
  };
  const compare = (col: string, condition: DocumentCondition): string => {
    if (condition.op !== "in") return `${col} ${OPERATORS[condition.op]} ${param(condition.value)}`;
    if (condition.values.length === 0) return "FALSE";
    return `${col} IN (SELECT value FROM json_each(${param(JSON.stringify(condition.values))}))`;
  };
  const where = [`tenant = ${param(tenant)}`, `collection = ${param(collection)}`];
  const order = query.orderBy;
  let select = "SELECT id, version, data";
  let orderBy: string;
  if (order) {
    const col = fieldColumn(order.field);
    if (col === undefined) return undefined;
    const direction = order.direction === "desc" ? "DESC" : "ASC";
    select += `, ${col} AS order_value`;
    where.push(`${col} IS NOT NULL`);
    if (query.after && query.after.value !== undefined) {
      where.push(`(${col}, id) ${direction === "ASC" ? ">" : "<"} (${param(query.after.value)}, ${param(query.after.id)})`);
    }
    orderBy = `${col} ${direction}, id ${direction}`;
  } else {
    const direction = query.idDirection === "desc" ? "DESC" : "ASC";
    if (query.after) where.push(`id ${direction === "ASC" ? ">" : "<"} ${param(query.after.id)}`);
    orderBy = `id ${direction}`;
  }
  for (const condition of query.where ?? []) {
    const col = fieldColumn(condition.field);
    if (col === undefined) return undefined;
    where.push(compare(col, condition));
  }
  return [`${select} FROM documents WHERE ${where.join(" AND ")} ORDER BY ${orderBy} LIMIT ${param(Math.max(1, Math.trunc(query.limit)))}`, values];
}

/** A document's field values in slot order (null where it has none), giving new fields slots. */
export function slotValuesOf(slotsOfDb: DocumentSlots, collection: string, fields: Readonly<Record<string, IndexedValue>>): (IndexedValue | null)[] {
  const row: (IndexedValue | null)[] = slots.map(() => null);
  for (const field in fields) row[slotsOfDb.assign(collection, field)] = fields[field];
  return row;
}
