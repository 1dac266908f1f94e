import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { describeError, type ExplorerApi } from "../api.js";
import { fill, form, h } from "../dom.js";
import type { Collection, Document } from "../../gen/switchyard/query/v1/query_pb.js";
import { whenAnswered, type Panel } from "./panel.js";

/** Documents asked for per Find page unless the page size field says otherwise. */
const DEFAULT_PAGE_SIZE = 20;

/**
 * The read models through the generic query service: the collections ListCollections names,
 * a collection's documents found a page at a time (Find with a filter and an order, "More"
 * for the next_page_token's page), and one document fetched by id.
 */
export const readModelsPanel: Panel = {
  id: "read-models",
  title: "Read models",
  mount(body, api, signal) {
    whenAnswered(body, "ListCollections", api.query.listCollections({}, { signal }), (response) => {
      if (response.collections.length === 0) fill(body, h("p", { class: "muted" }, "No read models are registered."));
      else browse(body, api, response.collections, signal);
    }, signal);
  },
};

/** The forms and the view of one collection at a time; its declared fields are the table's columns, in the order the projection declares them. */
function browse(body: HTMLElement, api: ExplorerApi, collections: readonly Collection[], signal: AbortSignal): void {
  const choice = h("select", { name: "collection" }, ...collections.map((c) => h("option", { value: c.name }, c.name)));
  const fieldsNote = h("p", { class: "muted" });
  const filter = h("input", { name: "filter", placeholder: '{"status": "booked"}', spellcheck: "false" });
  const orderBy = h("select", { name: "order-by" });
  const pageSize = h("input", { name: "page-size", type: "number", min: "1", max: "1000", value: String(DEFAULT_PAGE_SIZE), class: "narrow" });
  const findForm = form(
    "controls find",
    () => find(),
    h("label", {}, "Collection ", choice),
    h("label", {}, "Filter ", filter),
    h("label", {}, "Order ", orderBy),
    h("label", {}, "Page ", pageSize),
    h("button", { type: "submit" }, "Find"),
  );
  const documentId = h("input", { name: "document-id", placeholder: "B1", spellcheck: "false", required: "" });
  const fetchForm = form(
    "controls fetch",
    () => fetchOne(),
    h("label", {}, "Document id ", documentId),
    h("button", { type: "submit" }, "Fetch"),
  );
  const fetched = h("div", { class: "document-view" });
  const found = h("div", { class: "found" });
  fill(body, findForm, fieldsNote, found, fetchForm, fetched);

  const current = () => collections.find((c) => c.name === choice.value) ?? collections[0];
  // A newer Find or Fetch makes the answer of an older one stale: only the latest is drawn.
  let finds = 0;
  let fetches = 0;

  const describeCollection = () => {
    const fields = Object.entries(current().fields);
    fieldsNote.textContent = fields.length > 0 ? `Filter and order by ${fields.map(([name, type]) => `${name} (${type})`).join(", ")}.` : "Its documents are found by id only.";
    fill(orderBy, h("option", { value: "" }, "document id"), ...fields.flatMap(([name]) => [h("option", { value: name }, name), h("option", { value: `${name} desc` }, `${name} desc`)]));
  };

  function find(): void {
    const run = ++finds;
    const collection = current();
    const parsed = filterOf(filter.value);
    if (typeof parsed === "string") {
      fill(found, h("p", { class: "error" }, parsed));
      return;
    }
    const rows = h("tbody");
    const state = h("span", { class: "muted" }, "Finding…");
    const more = h("button", { type: "button", hidden: "" }, "More");
    const fields = Object.keys(collection.fields);
    const header = h("tr", {}, h("th", {}, "id"), ...fields.map((name) => h("th", {}, name)), h("th", { class: "number" }, "version"));
    fill(found, h("table", { class: "documents", "data-collection": collection.name }, h("thead", {}, header), rows), h("div", { class: "controls" }, state, more));
    let shown = 0;
    let pageToken = "";
    const readPage = async () => {
      more.disabled = true;
      try {
        const size = Number.parseInt(pageSize.value, 10) || DEFAULT_PAGE_SIZE;
        const response = await api.query.find({ collection: collection.name, filter: parsed, orderBy: orderBy.value, pageSize: size, pageToken }, { signal });
        if (run !== finds) return;
        rows.append(...response.documents.flatMap((document) => documentRows(document, fields)));
        shown += response.documents.length;
        pageToken = response.nextPageToken;
        more.hidden = pageToken === "";
        state.textContent = `${shown} document${shown === 1 ? "" : "s"}${pageToken === "" ? ", all that match." : "; more match."}`;
      } catch (error) {
        if (run === finds && !signal.aborted) state.textContent = describeError(error);
      } finally {
        more.disabled = false;
      }
    };
    more.addEventListener("click", () => void readPage());
    void readPage();
  }

  function fetchOne(): void {
    const run = ++fetches;
    const collection = current().name;
    const id = documentId.value.trim();
    fill(fetched, h("p", { class: "muted" }, "Fetching…"));
    api.query.fetch({ collection, id }, { signal }).then(
      ({ document }) => {
        if (run !== fetches || !document) return;
        fill(
          fetched,
          h("h3", {}, `${collection} / ${document.id}`),
          h("div", { class: "document", "data-document-id": document.id }, h("p", { class: "muted" }, `version ${document.version}`), h("pre", {}, jsonText(document.data))),
        );
      },
      (error: unknown) => {
        if (run === fetches && !signal.aborted) fill(fetched, h("p", { class: "error" }, describeError(error)));
      },
    );
  }

  choice.addEventListener("change", () => {
    describeCollection();
    find();
  });
  describeCollection();
  find();
}

/** The filter field's JSON as a Find filter (empty: every document), or why it is not one. */
function filterOf(text: string): JsonObject | undefined | string {
  if (text.trim() === "") return undefined;
  try {
    const value = JSON.parse(text) as JsonValue;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // told below
  }
  return 'The filter must be a JSON object, e.g. {"status": "booked"}.';
}

/** A document as two rows: its id, declared fields and version, and below it all its data, folded. */
function documentRows(document: Document, fields: readonly string[]): HTMLElement[] {
  return [
    h(
      "tr",
      { class: "document", "data-document-id": document.id },
      h("td", {}, document.id),
      ...fields.map((name) => h("td", {}, cellText(document.data?.[name]))),
      h("td", { class: "number" }, String(document.version)),
    ),
    h("tr", { class: "document-details" }, h("td", { colspan: String(fields.length + 2) }, h("details", {}, h("summary", {}, "data"), h("pre", {}, jsonText(document.data))))),
  ];
}

/** A field's value in a cell: strings as they are, anything else as JSON, nothing for a missing field. */
function cellText(value: JsonValue | undefined): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function jsonText(data: JsonObject | undefined): string {
  return JSON.stringify(data ?? {}, null, 2);
}
