import type { RecordedEvent } from "../kernel/events.js";
import type { EventStore, TenantEvent } from "../store/event-store.js";
import type { EventFeed } from "./event-feed.js";

/** Which events a consumer wants. */
export interface EventFilter {
  /** Only these types, when not empty. */
  readonly eventTypes?: readonly string[];
  /** Only streams whose id starts with this, when not empty. */
  readonly streamIdPrefix?: string;
}

/** What a consumer is told, in order. Positions are global positions. */
export type ConsumerMessage =
  | { readonly kind: "event"; readonly event: RecordedEvent; readonly tenant: string }
  /** Every event up to `position` has been looked at; none matched after the last one sent. Save it to resume from. */
  | { readonly kind: "checkpoint"; readonly position: number }
  /** The consumer has reached the head: what follows is live. */
  | { readonly kind: "caught-up"; readonly position: number }
  /** The consumer fell out of the feed's tail and reads the store again until it catches up. */
  | { readonly kind: "fell-behind"; readonly position: number };

/** Where a consumer starts and how it is paced. */
export interface ConsumeOptions {
  /** The tenant whose events are read; every tenant's when absent (async projections, reactions, the scheduler's kin). */
  readonly tenant?: string;
  /** Events after this position (exclusive); "now" starts at the head. */
  readonly after: number | "now";
  readonly filter?: EventFilter;
  /** Ends the consumer: it returns after the message it is on. */
  readonly signal: AbortSignal;
  /** Most events read from the store, or taken from the tail, at a time (1,000 by default). */
  readonly pageSize?: number;
  /** Most characters of event JSON read from the store at a time (4 Mi by default): a page of large events is shorter. */
  readonly pageChars?: number;
  /** A checkpoint is sent once this many positions were scanned past the last position told (1,000 by default). */
  readonly checkpointEvery?: number;
  /** A checkpoint is sent after this long idle, when the position moved past the last one told (1,000 ms by default). */
  readonly idleCheckpointMs?: number;
}

/** Where a consumer stands; read it after the generator ends to tell the client where to resume. */
export interface ConsumerPosition {
  /** The last position told to the consumer as an event's or a checkpoint's: where it resumes from. */
  told: number;
}

/**
 * The one consumer mechanism (subscriptions on the wire; async projections, reactions and the
 * explorer's live view build on it): pages of the store's readAll from a position, then live
 * from the feed's tail, woken by the commit feed. It pulls at the consumer's pace, so a slow
 * consumer holds one page in memory, never a queue. Catch-up and live read the same ordered
 * positions, so the switch-over has no gap and no duplicate: the position only moves forward
 * past what was scanned.
 */
export async function* consume(store: EventStore, feed: EventFeed, options: ConsumeOptions, at: ConsumerPosition): AsyncGenerator<ConsumerMessage, void, undefined> {
  const { tenant, signal } = options;
  const page = options.pageSize ?? 1000;
  const checkpointEvery = options.checkpointEvery ?? 1000;
  const idleMs = options.idleCheckpointMs ?? 1000;
  const types = options.filter?.eventTypes?.length ? new Set(options.filter.eventTypes) : undefined;
  const prefix = options.filter?.streamIdPrefix || undefined;
  const matches = ({ tenant: t, event }: TenantEvent) =>
    (tenant === undefined || t === tenant) && (!types || types.has(event.type)) && (!prefix || event.streamId.startsWith(prefix));

  await feed.open();
  try {
    let position = options.after === "now" ? feed.head : options.after;
    at.told = position;
    let live = false;
    while (!signal.aborted) {
      if (position >= feed.head) {
        if (!live) {
          live = true;
          // Not a checkpoint: the idle checkpoint that follows says the same for consumers that save only those.
          yield { kind: "caught-up", position };
          continue;
        }
        const moved = await feed.waitBeyond(position, idleMs, signal);
        if (!moved && !signal.aborted && position > at.told) {
          at.told = position;
          yield { kind: "checkpoint", position };
        }
        continue;
      }
      let events: TenantEvent[];
      let scannedTo: number;
      const cached = feed.after(position, page);
      if (cached) {
        events = cached.events.filter(matches);
        scannedTo = cached.scannedTo;
      } else {
        if (live) {
          live = false;
          yield { kind: "fell-behind", position };
        }
        // SQLite reads answer without a turn of the event loop: between pages other work
        // (timers, other calls, this one's abort) gets its turn.
        await new Promise((resolve) => setImmediate(resolve));
        if (signal.aborted) return;
        // A window of positions, so a filter that matches rarely still moves forward by pages.
        const upTo = Math.min(feed.head, position + page);
        ({ events, scannedTo } = await readPage(store, position, upTo, page, options.pageChars ?? 4 * 2 ** 20, tenant, options.filter, matches));
      }
      for (const { tenant: of, event } of events) {
        if (signal.aborted) return;
        position = at.told = event.position;
        yield { kind: "event", event, tenant: of };
      }
      position = Math.max(position, scannedTo);
      if (position - at.told >= checkpointEvery) {
        at.told = position;
        yield { kind: "checkpoint", position };
      }
    }
  } finally {
    feed.close();
  }
}

/**
 * One page of the store in (after, upTo] and how far it scanned: a tenant's events filtered by
 * the store, or every tenant's read in position order and filtered here (the cross-tenant read
 * has no filters; its consumers follow most event types anyway). A page with events may have
 * been cut short by its count or characters, so it counts as scanned up to its last row; an
 * empty one, or one that read past the window, scanned the whole window.
 */
async function readPage(
  store: EventStore,
  after: number,
  upTo: number,
  maxCount: number,
  maxChars: number,
  tenant: string | undefined,
  filter: EventFilter | undefined,
  matches: (event: TenantEvent) => boolean,
): Promise<{ events: TenantEvent[]; scannedTo: number }> {
  if (tenant === undefined) {
    const rows = await store.readAllTenants({ fromPosition: after + 1, maxCount, maxChars });
    const inWindow = rows.filter((row) => row.event.position <= upTo);
    const scannedTo = inWindow.length > 0 && inWindow.length === rows.length ? inWindow[inWindow.length - 1].event.position : upTo;
    return { events: inWindow.filter(matches), scannedTo };
  }
  const events = await store.readAll(tenant, {
    fromPosition: after + 1,
    toPosition: upTo,
    maxCount,
    maxChars,
    eventTypes: filter?.eventTypes,
    streamIdPrefix: filter?.streamIdPrefix || undefined,
  });
  return { events: events.map((event) => ({ tenant, event, size: 0 })), scannedTo: events.length > 0 ? events[events.length - 1].position : upTo };
}
