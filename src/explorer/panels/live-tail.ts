import type { FeedState } from "../api.js";
import { fill, h } from "../dom.js";
import { causedBy, clockOf } from "../event-view.js";
import type { Event } from "../../gen/switchyard/eventstore/v1/eventstore_pb.js";
import { streamLink } from "./streams.js";
import type { Panel } from "./panel.js";

/** Rows the tail keeps; older ones drop off the bottom. */
const TAIL_ROWS = 100;

/** Events as they commit, newest first, through the page's one Subscribe. */
export const liveTailPanel: Panel = {
  id: "live-tail",
  title: "Live tail",
  mount(body, api, signal) {
    const status = h("p", { class: "status" });
    const rows = h("tbody");
    fill(
      body,
      status,
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "position"), h("th", {}, "stream and revision"), h("th", {}, "event"), h("th", {}, "command"), h("th", {}, "time"))), rows),
    );
    const stop = api.feed.listen({
      onState: (state) => {
        status.textContent = stateText(state);
        status.className = `status ${state.kind}`;
      },
      onEvent: (event) => {
        rows.prepend(tailRow(event));
        while (rows.childElementCount > TAIL_ROWS) rows.lastElementChild!.remove();
      },
    });
    signal.addEventListener("abort", stop);
  },
};

function stateText(state: FeedState): string {
  switch (state.kind) {
    case "connecting":
      return "Subscribing…";
    case "live":
      return `Live: new events appear here as they commit (head at position ${state.position} when the tail began).`;
    case "catching-up":
      return `Fell behind at position ${state.position}; catching up.`;
    case "failed":
      return `${state.error}${state.retrying ? " (subscribing again shortly)" : ""}`;
  }
}

function tailRow(event: Event): HTMLElement {
  return h(
    "tr",
    { "data-position": String(event.globalPosition) },
    h("td", { class: "number" }, String(event.globalPosition)),
    h("td", { class: "stream" }, streamLink(event.streamId), h("span", { class: "muted" }, ` #${event.revision}`)),
    h("td", {}, event.type),
    h("td", { class: "command" }, causedBy(event)),
    h("td", { class: "time" }, clockOf(event)),
  );
}
