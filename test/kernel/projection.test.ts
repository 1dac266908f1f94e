import assert from "node:assert/strict";
import { it } from "node:test";
import { defineProjection, MAX_FIELDS, type FieldType } from "../../src/kernel/projection.js";

const withFields = (count: number) =>
  defineProjection({
    collection: "wide",
    version: 1,
    mode: "inline",
    eventTypes: ["Happened"],
    documentId: (event) => event.streamId,
    evolve: (document) => document,
    fields: Object.fromEntries(Array.from({ length: count }, (_, i) => [`field${i}`, "string" as FieldType])),
  });

it("declares at most 16 fields: a 17th is refused when the projection is defined, naming it and the limit", () => {
  assert.equal(MAX_FIELDS, 16);
  assert.equal(Object.keys(withFields(16).fields).length, 16);
  assert.throws(() => withFields(17), { name: "RangeError", message: "projection wide declares 17 fields; a projection declares at most 16" });
});
