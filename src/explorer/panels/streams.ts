import { describeError, type ExplorerApi } from "../api.js";
import { fill, form, h } from "../dom.js";
import { causedBy, dataText, metadataEntries, noteEvent, timeOf, type StreamSummary } from "../event-view.js";
import type { Event } from "../../gen/switchyard/eventstore/v1/eventstore_pb.js";
import type { Panel } from "./panel.js";

/** Events asked for per ReadAll or ReadStream page. */
const PAGE_SIZE = 1000;
/** Pages read per click of "Read more", so a large store is read a slice at a time. */
const PAGES_PER_READ = 10;
/** Streams listed, the most recently written first. */
const LISTED_STREAMS = 200;

/** A link that opens a stream in the streams panel (through the page's address, so it can be shared). */
export function streamLink(streamId: string): HTMLAnchorElement {
  return h("a", { href: `#stream=${encodeURIComponent(streamId)}` }, streamId);
}

/** The stream id a page address names, if any. */
function streamIdOf(hash: string): string | undefined {
  const match = /^#stream=(.+)$/.exec(hash);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/**
 * Streams and their events: a list built from ReadAll pages read from the start and kept up
 * to date by the live feed, and one stream's events (ReadStream) with their data, metadata
 * and the command that wrote each.
 */
export const streamsPanel: Panel = {
  id: "streams",
  title: "Streams",
  mount(body, api, signal) {
    const streams = new Map<string, StreamSummary>();
    const listRows = h("tbody");
    const readState = h("span", { class: "muted" });
    const more = h("button", { type: "button" }, "Read more");
    const streamId = h("input", { name: "stream-id", placeholder: "booking-B1", spellcheck: "false", required: "" });
    const openForm = form(
      "controls",
      () => (location.hash = `stream=${encodeURIComponent(streamId.value.trim())}`),
      h("label", {}, "Stream id ", streamId),
      h("button", { type: "submit" }, "Open"),
    );
    const view = h("div", { class: "stream-view" });
    const header = h("tr", {}, h("th", {}, "stream"), h("th", {}, "events"), h("th", {}, "last event"), h("th", {}, "position"), h("th", {}, "time"));
    fill(body, openForm, h("div", { class: "controls" }, readState, more), h("table", { class: "streams" }, h("thead", {}, header), listRows), view);

    let renderQueued = false;
    // Drawn at most once a frame, however many events arrive in it.
    const renderList = () => {
      if (renderQueued) return;
      renderQueued = true;
      requestAnimationFrame(() => {
        renderQueued = false;
        const latest = [...streams.values()].sort((a, b) => (a.lastPosition < b.lastPosition ? 1 : -1)).slice(0, LISTED_STREAMS);
        fill(listRows, ...latest.map(streamRow));
      });
    };
    const reader = pagesFromStart(api, signal);
    const readMore = async () => {
      more.disabled = true;
      try {
        const { atEnd, position } = await reader.next((event) => noteEvent(streams, event));
        readState.textContent = atEnd ? `Read every event up to position ${position}; later ones arrive live.` : `Read the events up to position ${position}.`;
        more.hidden = atEnd;
      } catch (error) {
        if (!signal.aborted) readState.textContent = describeError(error);
      } finally {
        more.disabled = false;
        renderList();
      }
    };
    more.addEventListener("click", () => void readMore());

    let opened: OpenStream | undefined;
    const openFromAddress = () => {
      const id = streamIdOf(location.hash);
      if (id === undefined || id === opened?.streamId) return;
      streamId.value = id;
      opened = openStream(api, id, view, signal);
    };
    window.addEventListener("hashchange", openFromAddress, { signal });
    const stop = api.feed.listen({
      onEvent: (event) => {
        noteEvent(streams, event);
        renderList();
        if (event.streamId === opened?.streamId) opened.add(event);
      },
    });
    signal.addEventListener("abort", stop);
    openFromAddress();
    void readMore();
  },
};

/** ReadAll from position 1 on, PAGES_PER_READ pages at a time. */
function pagesFromStart(api: ExplorerApi, signal: AbortSignal) {
  let from = 1n;
  return {
    async next(onEvent: (event: Event) => void): Promise<{ atEnd: boolean; position: bigint }> {
      for (let page = 0; page < PAGES_PER_READ; page++) {
        const response = await api.events.readAll({ fromPosition: from, maxCount: PAGE_SIZE }, { signal });
        response.events.forEach(onEvent);
        from = response.nextPosition;
        if (response.events.length === 0) return { atEnd: true, position: from - 1n };
      }
      return { atEnd: false, position: from - 1n };
    },
  };
}

function streamRow(stream: StreamSummary): HTMLElement {
  return h(
    "tr",
    { "data-stream-id": stream.streamId },
    h("td", {}, streamLink(stream.streamId)),
    h("td", { class: "number" }, String(stream.revision)),
    h("td", {}, stream.lastType),
    h("td", { class: "number" }, String(stream.lastPosition)),
    h("td", { class: "time" }, stream.lastTime),
  );
}

/** The stream shown, to which the live feed adds its new events. */
interface OpenStream {
  readonly streamId: string;
  add(event: Event): void;
}

/** Reads a stream (ReadStream, page by page) into `view` and returns how to add live events to it. */
function openStream(api: ExplorerApi, streamId: string, view: HTMLElement, signal: AbortSignal): OpenStream {
  const rows = h("tbody");
  const state = h("p", { class: "muted" }, "Reading…");
  const header = h("tr", {}, h("th", {}, "rev"), h("th", {}, "position"), h("th", {}, "event"), h("th", {}, "command"), h("th", {}, "time"));
  fill(view, h("h3", {}, streamId), state, h("table", { class: "events", "data-stream-id": streamId }, h("thead", {}, header), rows));
  let revision = 0n;
  // Live events wait until the pages are read, so the rows stay in revision order.
  let pending: Event[] | undefined = [];
  const add = (event: Event) => {
    if (event.revision <= revision) return;
    revision = event.revision;
    rows.append(...eventRows(event));
    if (!pending) state.textContent = countText(revision);
  };
  void (async () => {
    try {
      let streamRevision = 0n;
      do {
        const response = await api.events.readStream({ streamId, fromRevision: revision + 1n, maxCount: PAGE_SIZE }, { signal });
        streamRevision = response.streamRevision;
        if (response.events.length === 0) break;
        response.events.forEach(add);
      } while (revision < streamRevision);
      state.textContent = countText(revision);
    } catch (error) {
      if (!signal.aborted) state.textContent = describeError(error);
    } finally {
      const queued = pending ?? [];
      pending = undefined;
      queued.forEach(add);
    }
  })();
  return {
    streamId,
    add(event) {
      if (pending) pending.push(event);
      else add(event);
    },
  };
}

function countText(events: bigint): string {
  return `${events} event${events === 1n ? "" : "s"}; new ones are added as they commit.`;
}

/** An event as two rows: its summary, and below it its data and metadata, folded. */
function eventRows(event: Event): HTMLElement[] {
  const metadata = h("dl", {}, ...metadataEntries(event).flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
  return [
    h(
      "tr",
      { class: "event", "data-event-id": event.id },
      h("td", { class: "number" }, String(event.revision)),
      h("td", { class: "number" }, String(event.globalPosition)),
      h("td", {}, event.type),
      h("td", { class: "command" }, causedBy(event)),
      h("td", { class: "time" }, timeOf(event)),
    ),
    h(
      "tr",
      { class: "event-details" },
      h("td", { colspan: "5" }, h("details", {}, h("summary", {}, "data and metadata"), h("div", { class: "columns" }, h("pre", {}, dataText(event)), metadata))),
    ),
  ];
}
