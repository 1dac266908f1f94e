// The explorer page's entry point (bundled by src/edge/explorer-assets.ts): the token, and the panels.
import { createExplorerApi } from "./api.js";
import { fill, h } from "./dom.js";
import { commandsPanel } from "./panels/commands.js";
import { liveTailPanel } from "./panels/live-tail.js";
import type { Panel } from "./panels/panel.js";
import { readModelsPanel } from "./panels/read-models.js";
import { schedulesPanel } from "./panels/schedules.js";
import { streamsPanel } from "./panels/streams.js";

/** The panels, in page order. Another panel is one file in panels/ exporting a Panel, and one line here. */
const PANELS: readonly Panel[] = [streamsPanel, liveTailPanel, commandsPanel, readModelsPanel, schedulesPanel];

/** Where the token is kept: for this tab only, gone when it closes. */
const TOKEN_KEY = "switchyard.explorer.token";

const form = document.querySelector<HTMLFormElement>("#token-form")!;
const input = document.querySelector<HTMLInputElement>("#token")!;
const tokenState = document.querySelector<HTMLElement>("#token-state")!;
const main = document.querySelector<HTMLElement>("#panels")!;
let mounted: AbortController | undefined;

/** Mounts every panel with clients that send the current token; the previous panels stop. */
function mountPanels(): void {
  mounted?.abort();
  mounted = new AbortController();
  const token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  tokenState.textContent = token ? "calls send this token" : "calls send no token";
  const api = createExplorerApi(token, mounted.signal);
  fill(main);
  for (const panel of PANELS) {
    const body = h("div", { class: "panel-body" });
    main.append(h("section", { id: `panel-${panel.id}`, class: "panel" }, h("h2", {}, panel.title), body));
    panel.mount(body, api, mounted.signal);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = input.value.trim().replace(/^Bearer\s+/i, "");
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  input.value = "";
  mountPanels();
});
document.querySelector("#token-forget")!.addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  mountPanels();
});
mountPanels();
