import { describeError } from "../api.js";
import { fill, h } from "../dom.js";
import { instantText } from "../event-view.js";
import { ScheduledCommandState, type ScheduledCommand } from "../../gen/switchyard/command/v1/schedules_pb.js";
import type { Panel } from "./panel.js";

/** Schedules asked for per page. */
const PAGE_SIZE = 50;
/** Least time between two readings of the lists that committed events ask for. */
const RELOAD_MS = 1000;

/** The states as a reader says them. */
const STATE_NAMES: Readonly<Record<ScheduledCommandState, string>> = {
  [ScheduledCommandState.UNSPECIFIED]: "unknown",
  [ScheduledCommandState.PENDING]: "pending",
  [ScheduledCommandState.DONE]: "done",
  [ScheduledCommandState.REJECTED]: "rejected",
  [ScheduledCommandState.CANCELLED]: "cancelled",
  [ScheduledCommandState.DEAD_LETTER]: "dead letter",
  [ScheduledCommandState.DISCARDED]: "discarded",
};

/** One page of a list: its schedules and the token of the next page ("" on the last). */
interface SchedulePage {
  readonly items: readonly ScheduledCommand[];
  readonly nextPageToken: string;
}

/**
 * The scheduled commands the caller may see (ListScheduledCommands, in the order they were
 * made) and the dead letters (ListDeadLetters, scope schedules:admin). A schedule is stored
 * with its command's events, so the lists are read again when events commit, at most once a
 * second; "Refresh" reads them again at once, for a run that settled without writing.
 */
export const schedulesPanel: Panel = {
  id: "schedules",
  title: "Scheduled commands and dead letters",
  mount(body, api, signal) {
    const scheduled = scheduleList("scheduled", "No scheduled commands this token may see.", (pageToken) =>
      api.commands.listScheduledCommands({ pageSize: PAGE_SIZE, pageToken }, { signal }).then((r) => ({ items: r.scheduledCommands, nextPageToken: r.nextPageToken })),
    );
    const dead = scheduleList("dead-letters", "No dead letters.", (pageToken) =>
      api.commands.listDeadLetters({ pageSize: PAGE_SIZE, pageToken }, { signal }).then((r) => ({ items: r.deadLetters, nextPageToken: r.nextPageToken })),
    );
    const reload = () => {
      if (signal.aborted) return;
      void scheduled.reload();
      void dead.reload();
    };
    fill(
      body,
      h("div", { class: "controls" }, h("button", { type: "button", onclick: reload }, "Refresh")),
      h("h3", { class: "section" }, "Scheduled commands"),
      scheduled.element,
      h("h3", { class: "section" }, "Dead letters"),
      dead.element,
    );
    let queued = false;
    const stop = api.feed.listen({
      onEvent: () => {
        if (queued) return;
        queued = true;
        setTimeout(() => {
          queued = false;
          reload();
        }, RELOAD_MS);
      },
    });
    signal.addEventListener("abort", stop);
    reload();
  },
};

/**
 * A list read a page at a time: "More" adds the next page; reading it again reads as many
 * pages as are shown, from the first, so a schedule whose state changed is shown as it is now.
 */
function scheduleList(kind: string, empty: string, read: (pageToken: string) => Promise<SchedulePage>) {
  const rows = h("tbody");
  const state = h("span", { class: "muted" }, "Reading…");
  const more = h("button", { type: "button", hidden: "" }, "More");
  const header = h("tr", {}, ...["command", "aggregate", "state", "runs at", "attempts", "outcome or last error", "scheduled by"].map((name) => h("th", {}, name)));
  const element = h("div", { class: kind }, h("table", { class: kind }, h("thead", {}, header), rows), h("div", { class: "controls" }, state, more));
  let pages = 1;
  let nextPageToken = "";
  // A newer reading makes an older one's answer stale: only the latest is drawn.
  let readings = 0;

  async function load(from: string, count: number, replace: boolean): Promise<void> {
    const reading = ++readings;
    more.disabled = true;
    try {
      const found: ScheduledCommand[] = [];
      let token = from;
      let pagesRead = 0;
      do {
        const page = await read(token);
        found.push(...page.items);
        token = page.nextPageToken;
        pagesRead++;
      } while (token !== "" && pagesRead < count);
      if (reading !== readings) return;
      if (replace) fill(rows, ...found.flatMap(scheduleRows));
      else rows.append(...found.flatMap(scheduleRows));
      nextPageToken = token;
      more.hidden = token === "";
      const total = rows.querySelectorAll("tr.schedule").length;
      state.textContent = total === 0 ? empty : `${total} shown${token === "" ? "." : "; there are more."}`;
    } catch (error) {
      if (reading === readings) state.textContent = describeError(error);
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener("click", () => {
    pages++;
    void load(nextPageToken, 1, false);
  });
  return { element, reload: () => load("", pages, true) };
}

/** A schedule as two rows: what runs when and how it stands, and below it its payload and ids, folded. */
function scheduleRows(schedule: ScheduledCommand): HTMLElement[] {
  const state = STATE_NAMES[schedule.state] ?? "unknown";
  const outcome = schedule.lastError || [schedule.outcomeStatus, schedule.outcomeCode, schedule.outcomeMessage].filter((part) => part !== "").join(": ");
  const facts: Array<[string, string]> = [
    ["schedule id", schedule.scheduleId],
    ["correlation id", schedule.correlationId],
    ["made", instantText(schedule.createdAt)],
    ["finished", instantText(schedule.finishedAt)],
  ];
  return [
    h(
      "tr",
      { class: "schedule", "data-schedule-id": schedule.scheduleId, "data-aggregate-id": schedule.aggregateId },
      h("td", {}, h("code", {}, schedule.commandType)),
      h("td", {}, schedule.aggregateId),
      h("td", { class: `state ${state.replace(" ", "-")}` }, state),
      h("td", { class: "time" }, instantText(schedule.runAt)),
      h("td", { class: "number" }, String(schedule.attempts)),
      h("td", {}, outcome),
      h("td", {}, schedule.scheduledBy),
    ),
    h(
      "tr",
      { class: "schedule-details" },
      h(
        "td",
        { colspan: "7" },
        h(
          "details",
          {},
          h("summary", {}, "payload and ids"),
          h("div", { class: "columns" }, h("pre", {}, JSON.stringify(schedule.payload ?? {}, null, 2)), h("dl", {}, ...facts.filter(([, v]) => v !== "").flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]))),
        ),
      ),
    ),
  ];
}
