import { describeError, type ExplorerApi } from "../api.js";
import { fill, h } from "../dom.js";

/**
 * One panel of the page: a titled section whose body it fills. The page mounts every panel
 * again, with new clients, when the token changes; `signal` aborts then, and a panel stops
 * what it follows (streams, listeners) on it.
 */
export interface Panel {
  /** The section's id (`panel-<id>`), which links and tests use. */
  readonly id: string;
  readonly title: string;
  mount(body: HTMLElement, api: ExplorerApi, signal: AbortSignal): void;
}

/** Says the panel is asking `rpc`, then shows the answer as `show` makes it, or the error (unless the panel was mounted again meanwhile). */
export function whenAnswered<T>(body: HTMLElement, rpc: string, answer: Promise<T>, show: (answer: T) => void, signal: AbortSignal): void {
  fill(body, h("p", { class: "muted" }, `Asking ${rpc}…`));
  answer.then(show, (error: unknown) => {
    if (!signal.aborted) fill(body, h("p", { class: "error" }, describeError(error)));
  });
}
