import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CommandService } from "../gen/switchyard/command/v1/command_pb.js";
import { EventStoreService, type Event } from "../gen/switchyard/eventstore/v1/eventstore_pb.js";
import { QueryService } from "../gen/switchyard/query/v1/query_pb.js";

/** What every panel is given: the service's clients and the one live feed of events. */
export interface ExplorerApi {
  readonly events: Client<typeof EventStoreService>;
  /** DescribeCommands, and the scheduled commands and dead letters. */
  readonly commands: Client<typeof CommandService>;
  /** The read models. */
  readonly query: Client<typeof QueryService>;
  readonly feed: LiveFeed;
}

/** Where the live feed stands, as the live tail shows it. */
export type FeedState =
  | { readonly kind: "connecting" }
  | { readonly kind: "live"; readonly position: bigint }
  | { readonly kind: "catching-up"; readonly position: bigint }
  | { readonly kind: "failed"; readonly error: string; readonly retrying: boolean };

/** Events as they commit, shared by every panel that shows them. */
export interface LiveFeed {
  /** Calls `onEvent` for each new event and `onState` when the feed's state changes; returns the unsubscribe. */
  listen(listener: { onEvent?: (event: Event) => void; onState?: (state: FeedState) => void }): () => void;
}

/** The page's clients, calling the origin it was served from with the bearer token, if one is given. */
export function createExplorerApi(token: string | undefined, signal: AbortSignal): ExplorerApi {
  const bearer: Interceptor = (next) => (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: location.origin, interceptors: [bearer] });
  const events = createClient(EventStoreService, transport);
  return { events, commands: createClient(CommandService, transport), query: createClient(QueryService, transport), feed: followEvents(events, signal) };
}

/** A ConnectError (or anything thrown) as one line: its code's name and its message. */
export function describeError(error: unknown): string {
  const connect = ConnectError.from(error);
  return `${Code[connect.code] ?? connect.code}: ${connect.rawMessage}`;
}

/** How long the feed waits before it subscribes again after its stream broke. */
const RETRY_MS = 2000;

/** Failures a retry cannot mend: the caller must change its token first. */
const FINAL_CODES = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument]);

/**
 * One Subscribe from now on, over Connect's server streaming, fanned out to the panels. When
 * the stream breaks (a server restart, a drain, a slow network) it subscribes again after the
 * last position it was told, so no event is missed or shown twice; an authentication or
 * permission failure stops it until the page gets another token.
 */
function followEvents(client: Client<typeof EventStoreService>, signal: AbortSignal): LiveFeed {
  const listeners = new Set<{ onEvent?: (event: Event) => void; onState?: (state: FeedState) => void }>();
  let state: FeedState = { kind: "connecting" };
  const setState = (next: FeedState) => {
    state = next;
    for (const l of listeners) l.onState?.(next);
  };

  void (async () => {
    let after: bigint | undefined;
    while (!signal.aborted) {
      try {
        const start = after === undefined ? { case: "fromNow" as const, value: true } : { case: "afterPosition" as const, value: after };
        for await (const response of client.subscribe({ start }, { signal })) {
          const message = response.message;
          if (message.case === "event") {
            after = message.value.globalPosition;
            for (const l of listeners) l.onEvent?.(message.value);
          } else if (message.case === "checkpoint") {
            after = message.value.position;
          } else if (message.case === "caughtUp") {
            after ??= message.value.position;
            setState({ kind: "live", position: message.value.position });
          } else if (message.case === "fellBehind") {
            setState({ kind: "catching-up", position: message.value.position });
          }
        }
        setState({ kind: "failed", error: "the server ended the stream", retrying: true });
      } catch (error) {
        if (signal.aborted) return;
        const final = FINAL_CODES.has(ConnectError.from(error).code);
        setState({ kind: "failed", error: describeError(error), retrying: !final });
        if (final) return;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  })();

  return {
    listen(listener) {
      listeners.add(listener);
      listener.onState?.(state);
      return () => listeners.delete(listener);
    },
  };
}
