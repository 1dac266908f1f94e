import type { ExplorerApi } from "../api.js";

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
