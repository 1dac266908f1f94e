import type { DocumentCondition, DocumentQuery, IndexedValue } from "./event-store.js";

/** A filter's comparison operators in SQL, for both stores. */
export const OPERATORS = { eq: "=", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

/**
 * The PostgreSQL statement of a keyset page of documents, and its parameters (SQLite keeps
 * the fields as columns of the document's row: sqlite/document-columns.ts). A field's value is
 * in a text and a number column of document_fields. Ordered by a field, it walks the field
 * index (tenant, collection, field, value, id) from the previous page's last (value, id): a
 * deep page seeks where the first one starts, it never skips rows. Conditions on the order
 * field narrow that walk; others are point look-ups of the document's field rows.
 */
export function findDocumentsSql(tenant: string, collection: string, query: DocumentQuery): [text: string, values: unknown[]] {
  const values: unknown[] = [];
  const param = (value: unknown, cast = "") => {
    values.push(value);
    return `$${values.length}${cast}`;
  };
  const column = (alias: string, value: IndexedValue) => (typeof value === "number" ? `${alias}.value_num` : `${alias}.value_text`);
  const typed = (value: IndexedValue) => param(value, typeof value === "number" ? "::float8" : "::text");
  const compare = (alias: string, condition: DocumentCondition): string => {
    if (condition.op !== "in") return `${column(alias, condition.value)} ${OPERATORS[condition.op]} ${typed(condition.value)}`;
    if (condition.values.length === 0) return "FALSE";
    const numeric = typeof condition.values[0] === "number";
    return numeric ? `${alias}.value_num = ANY(${param(condition.values, "::float8[]")})` : `${alias}.value_text = ANY(${param(condition.values, "::text[]")})`;
  };
  // A condition on a field other than the order's: the document's row for that field (a primary-key look-up) must match.
  const exists = (condition: DocumentCondition) =>
    `EXISTS (SELECT 1 FROM document_fields f WHERE f.tenant = d.tenant AND f.collection = d.collection AND f.id = d.id AND f.field = ${param(condition.field)} AND ${compare("f", condition)})`;
  const where: string[] = [];
  const order = query.orderBy;
  let text: string;
  if (order) {
    const direction = order.direction === "desc" ? "DESC" : "ASC";
    const value = order.numeric ? "o.value_num" : "o.value_text";
    text = `SELECT d.id, d.version, d.data, ${value} AS order_value FROM document_fields o JOIN documents d ON d.tenant = o.tenant AND d.collection = o.collection AND d.id = o.id`;
    where.push(`o.tenant = ${param(tenant)}`, `o.collection = ${param(collection)}`, `o.field = ${param(order.field)}`);
    where.push(`${value} IS NOT NULL`);
    if (query.after && query.after.value !== undefined) {
      where.push(`(${value}, o.id) ${direction === "ASC" ? ">" : "<"} (${typed(query.after.value)}, ${param(query.after.id)})`);
    }
    for (const condition of query.where ?? []) {
      where.push(condition.field === order.field ? compare("o", condition) : exists(condition));
    }
    text += ` WHERE ${where.join(" AND ")} ORDER BY ${value} ${direction}, o.id ${direction}`;
  } else {
    const direction = query.idDirection === "desc" ? "DESC" : "ASC";
    text = "SELECT d.id, d.version, d.data FROM documents d";
    where.push(`d.tenant = ${param(tenant)}`, `d.collection = ${param(collection)}`);
    if (query.after) where.push(`d.id ${direction === "ASC" ? ">" : "<"} ${param(query.after.id)}`);
    for (const condition of query.where ?? []) where.push(exists(condition));
    text += ` WHERE ${where.join(" AND ")} ORDER BY d.id ${direction}`;
  }
  return [`${text} LIMIT ${param(Math.max(1, Math.trunc(query.limit)))}`, values];
}
