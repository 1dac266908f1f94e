import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { EventFeed } from "../../consumer/event-feed.js";
import { consume, type ConsumerMessage, type ConsumerPosition } from "../../consumer/subscription.js";
import { badRequest, edgeError } from "../../edge/command-error.js";
import type { EdgeCall } from "../../edge/edge-service.js";
import type { RequestLimits } from "../../edge/limits.js";
import { encodedMessage } from "../../edge/protobuf-codec.js";
import { requireScope } from "../../edge/query-access.js";
import { SubscribeResponseSchema, type SubscribeRequest, type SubscribeResponse } from "../../gen/switchyard/eventstore/v1/eventstore_pb.js";
import { encodeEventResponse } from "./event-wire.js";
import type { RecordedEvent } from "../../kernel/events.js";
import type { EventStore } from "../../store/event-store.js";
import { eventToProto } from "./handlers.js";
import { checkEventTypes, MAX_NAME } from "./read-limits.js";
import type { LagBoard } from "../../consumer/lag-board.js";

/** What Subscribe needs besides the store. */
export interface SubscribeOptions {
  readonly store: EventStore;
  readonly feed: EventFeed;
  readonly readScopes: readonly string[];
  readonly limits: Pick<RequestLimits, "maxSubscriptions" | "subscriptionMaxLag" | "subscriptionLagTimeoutMs">;
  /** Where open subscriptions and their lag are kept for metrics. */
  readonly board?: LagBoard;
}

/**
 * EventStoreService.Subscribe: the consumer mechanism (consumer/subscription.ts) on the wire.
 * Open subscriptions are counted per process; past MAX_SUBSCRIPTIONS a new one is
 * RESOURCE_EXHAUSTED. A stream that ends for any reason but the client's own cancel carries
 * the position to resume from in its ErrorInfo (`resumeAfterPosition`).
 */
export function subscribeHandler({ store, feed, readScopes, limits, board }: SubscribeOptions) {
  let open = 0;
  /** Each event's encoded response, made once however many subscribers the feed's tail serves it to. */
  const encoded = new WeakMap<RecordedEvent, Uint8Array>();

  function responseOf(message: ConsumerMessage, sendsEncoded: boolean | undefined): SubscribeResponse {
    if (message.kind !== "event") {
      const kind = message.kind === "caught-up" ? "caughtUp" : message.kind === "fell-behind" ? "fellBehind" : "checkpoint";
      return create(SubscribeResponseSchema, { message: { case: kind, value: { position: BigInt(message.position) } } });
    }
    if (!sendsEncoded) return create(SubscribeResponseSchema, { message: { case: "event", value: eventToProto(message.event) } });
    let bytes = encoded.get(message.event);
    if (!bytes) {
      bytes = encodeEventResponse(message.event);
      encoded.set(message.event, bytes);
    }
    return encodedMessage<SubscribeResponse>(SubscribeResponseSchema.typeName, bytes);
  }

  return async function* subscribe(request: SubscribeRequest, call: EdgeCall): AsyncGenerator<SubscribeResponse> {
    requireScope(call.identity, ...readScopes);
    checkEventTypes(request.eventTypes);
    if (request.streamIdPrefix.length > MAX_NAME) {
      throw badRequest([{ field: "stream_id_prefix", description: `stream_id_prefix must be at most ${MAX_NAME} characters` }]);
    }
    if (open >= limits.maxSubscriptions) {
      throw edgeError(Code.ResourceExhausted, "TOO_MANY_SUBSCRIPTIONS", `this server has ${open} subscriptions open, its limit (MAX_SUBSCRIPTIONS); retry later or on another instance`);
    }
    open++;
    // The place is given back when the call stops, even if its transport never takes another
    // message (a dead HTTP/1.1 connection can hold this generator suspended).
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      open--;
      call.signal.removeEventListener("abort", release);
    };
    call.signal.addEventListener("abort", release, { once: true });
    const at: ConsumerPosition = { told: 0 };
    const watch = watchLag(feed, at, call, limits);
    const entry = board?.join(at);
    try {
      const after = await startOf(request, store);
      at.told = after === "now" ? 0 : after;
      call.log.after = String(after);
      const messages = consume(
        store,
        feed,
        {
          tenant: call.identity.tenant,
          after,
          filter: { eventTypes: request.eventTypes, streamIdPrefix: request.streamIdPrefix },
          signal: call.signal,
        },
        at,
      );
      for await (const message of messages) {
        if (message.kind === "caught-up") watch.live();
        yield responseOf(message, call.sendsEncoded);
        entry?.told();
      }
      // consume() returns only when the call's signal aborted: end with its reason.
      throw resumable(ConnectError.from(call.signal.reason), at);
    } finally {
      watch.stop();
      entry?.leave();
      call.log.resumeAfterPosition = String(at.told);
      release();
    }
  };
}

/**
 * Ends a subscriber that was live once and then stays more than subscriptionMaxLag events
 * behind the head for subscriptionLagTimeoutMs. A timer, not the consumer's own loop: a client
 * that stops reading leaves that loop suspended at its last message.
 */
function watchLag(feed: EventFeed, at: ConsumerPosition, call: EdgeCall, limits: SubscribeOptions["limits"]) {
  let wasLive = false;
  let laggingSince: number | undefined;
  const timer = setInterval(() => {
    if (!wasLive || feed.head - at.told <= limits.subscriptionMaxLag) {
      laggingSince = undefined;
      return;
    }
    laggingSince ??= Date.now();
    if (Date.now() - laggingSince < limits.subscriptionLagTimeoutMs) return;
    call.end?.(
      edgeError(
        Code.ResourceExhausted,
        "SUBSCRIBER_TOO_SLOW",
        `the subscriber stayed more than ${limits.subscriptionMaxLag} events behind the head for over ${limits.subscriptionLagTimeoutMs} ms`,
      ),
    );
  }, Math.max(10, Math.min(1000, limits.subscriptionLagTimeoutMs / 4)));
  timer.unref();
  return {
    live: () => (wasLive = true),
    stop: () => clearInterval(timer),
  };
}

/** The position a subscription starts after, checked against the head. */
async function startOf(request: SubscribeRequest, store: EventStore): Promise<number | "now"> {
  switch (request.start.case) {
    case "fromNow":
      return "now";
    case "afterPosition": {
      const head = await store.headPosition();
      if (request.start.value > BigInt(head)) {
        throw edgeError(Code.OutOfRange, "POSITION_PAST_HEAD", `after_position ${request.start.value} is past the last position written (${head})`, {
          headPosition: String(head),
        });
      }
      return Number(request.start.value);
    }
    default:
      return 0;
  }
}

/** The error with the position to resume from in its ErrorInfo and message (a client's cancel needs none). */
function resumable(error: ConnectError, at: ConsumerPosition): ConnectError {
  if (error.code === Code.Canceled) return error;
  const info = error.details.find((d) => "desc" in d && d.desc.typeName === "google.rpc.ErrorInfo") as { value: { reason?: string; metadata?: Record<string, string> } } | undefined;
  const reason = info?.value.reason ?? Code[error.code].toUpperCase();
  return edgeError(error.code, reason, `${error.rawMessage}; resume with after_position ${at.told}`, {
    ...(info?.value.metadata ?? {}),
    resumeAfterPosition: String(at.told),
  });
}
