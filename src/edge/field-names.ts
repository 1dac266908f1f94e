/**
 * Translates payload field paths between the domain's spelling ("paidAt", "price") and
 * one edge's spelling ("paid_at", "amount"), so validation errors name the field the
 * caller actually sent.
 */
export interface FieldNames {
  toEdge(domainPath: string): string;
}

/** "paidAt" → "paid_at", "stay.checkIn" → "stay.check_in". */
export function snakeCase(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Field names of a proto edge: explicit renames first (longest matching prefix), then
 * snake_case of the domain path.
 */
export function protoFieldNames(renames: Readonly<Record<string, string>> = {}): FieldNames {
  const keys = Object.keys(renames).sort((a, b) => b.length - a.length);
  return {
    toEdge(path) {
      for (const key of keys) {
        if (path === key || path.startsWith(`${key}.`)) return renames[key] + snakeCase(path.slice(key.length));
      }
      return snakeCase(path);
    },
  };
}

/**
 * Field names of an edge whose payload is a free-form object under `prefix` (the generic
 * Execute): payload paths keep the domain's spelling and gain the prefix, while envelope
 * fields (`requestId`, `type`) get their proto names.
 */
export function payloadFieldNames(prefix: string, envelope: Readonly<Record<string, string>>): FieldNames {
  return {
    toEdge: (path) => envelope[path] ?? (path === "" ? prefix : `${prefix}.${path}`),
  };
}
