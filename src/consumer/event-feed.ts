import type { EventStore, TenantEvent } from "../store/event-store.js";

/** How the feed is sized. */
export interface EventFeedOptions {
  /** Most recent events kept in memory for live readers, across tenants (10,000 by default). */
  readonly tailSize?: number;
  /** Most characters of event JSON the tail keeps (8 Mi by default): large events make it shorter. */
  readonly tailChars?: number;
}

/** Most events, and characters of event JSON, one refresh reads from the store in one query. */
const REFRESH_PAGE = 1000;
const REFRESH_CHARS = 4 * 2 ** 20;

/**
 * The process's view of what has been committed: the head position and a bounded tail of
 * the latest events, kept up to date from the store's commit feed (store.watchCommits) by
 * one reader, however many consumers wait on it. Live consumers take their events from the
 * tail, so a commit costs at most one store read, not one per subscriber, and none when the
 * store hands over the events this process committed and they follow the head; a consumer
 * further behind than the tail reaches reads the store itself, a page at a time.
 *
 * Positions are visible in commit order in both stores, so reading on from the head never
 * passes an event that commits later with a lower position.
 */
export function createEventFeed(store: EventStore, options: EventFeedOptions = {}) {
  const tailSize = options.tailSize ?? 10_000;
  const tailChars = options.tailChars ?? 8 * 2 ** 20;
  let chars = 0;
  /** The latest events, in position order; every event after `coveredFrom` up to `head` is here. */
  let tail: TenantEvent[] = [];
  let coveredFrom = 0;
  let head = 0;
  let started: Promise<void> | undefined;
  let unwatch: (() => void) | undefined;
  let users = 0;
  let refreshing: Promise<void> | undefined;
  let again = false;
  const waiters = new Set<() => void>();

  /** Bumped when the feed stops, so a refresh still running from before leaves the new state alone. */
  let generation = 0;

  async function refresh(): Promise<void> {
    const mine = generation;
    do {
      again = false;
      for (;;) {
        const rows = await store.readAllTenants({ fromPosition: head + 1, maxCount: REFRESH_PAGE, maxChars: REFRESH_CHARS });
        if (mine !== generation || rows.length === 0) return;
        take(rows);
        if (rows.length < REFRESH_PAGE && rows.reduce((sum, row) => sum + row.size, 0) < REFRESH_CHARS) break;
      }
    } while (again);
  }

  /** Adds events that follow the head to the tail, moves the head to the last, and wakes the waiting readers. */
  function take(rows: readonly TenantEvent[]): void {
    for (const row of rows) {
      tail.push(row);
      chars += row.size;
    }
    head = rows[rows.length - 1].event.position;
    trim();
    wake();
  }

  /** Drops the oldest events past the tail's bounds (in chunks, so the array is not shifted per event). */
  function trim(): void {
    if (tail.length <= tailSize * 1.25 && chars <= tailChars) return;
    let dropped = Math.max(0, tail.length - tailSize);
    let left = chars;
    for (let i = 0; i < dropped; i++) left -= tail[i].size;
    // Down to 80% of the character bound, so a tail of large events is not trimmed at every commit.
    if (left > tailChars) while (dropped < tail.length - 1 && left > tailChars * 0.8) left -= tail[dropped++].size;
    if (dropped === 0) return;
    coveredFrom = tail[dropped - 1].event.position;
    tail = tail.slice(dropped);
    chars = left;
  }

  /**
   * Takes the events of this process's commit when they are the next ones (no other writer's
   * came between), and otherwise schedules a refresh; one runs at a time, and a commit told
   * meanwhile runs another after it.
   */
  function committed(handed?: () => readonly TenantEvent[]): void {
    const events = handed && !refreshing ? handed() : undefined;
    if (events && follows(events)) {
      take(events);
      return;
    }
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = refresh()
      .catch(() => undefined) // a failed read is tried again at the next commit or poll
      .finally(() => {
        refreshing = undefined;
        if (again) committed();
      });
  }

  /** Whether `events` start right after the head, with no position missing among them. */
  function follows(events: readonly TenantEvent[]): boolean {
    let expected = head + 1;
    for (const { event } of events) if (event.position !== expected++) return false;
    return events.length > 0;
  }

  function wake(): void {
    for (const resolve of [...waiters]) resolve();
    waiters.clear();
  }

  return {
    /** The highest position this process knows to be committed. */
    get head(): number {
      return head;
    },
    /**
     * Starts following commits (once, for the first user) and resolves when the head is
     * known. Every open() is paired with a close(); the feed stops following with the last.
     */
    async open(): Promise<void> {
      users++;
      if (!started) {
        started = (async () => {
          head = coveredFrom = await store.headPosition();
          unwatch = store.watchCommits(committed);
          committed(); // what committed while the head was read
        })();
        started.catch(() => (started = undefined));
      }
      try {
        await started;
      } catch (error) {
        users--;
        throw error;
      }
    },
    close(): void {
      if (--users > 0) return;
      generation++;
      unwatch?.();
      unwatch = undefined;
      started = undefined;
      tail = [];
      chars = 0;
      head = coveredFrom = 0;
      wake();
    },
    /**
     * The tail's events after `position`, up to `max` of them, and how far that looked: all
     * events in (position, scannedTo] of every tenant. Undefined when the tail no longer
     * holds everything after `position` (the reader must read the store).
     */
    after(position: number, max: number): { events: TenantEvent[]; scannedTo: number } | undefined {
      if (position < coveredFrom) return undefined;
      // Binary search for the first event after position.
      let low = 0;
      let high = tail.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (tail[mid].event.position <= position) low = mid + 1;
        else high = mid;
      }
      const events = tail.slice(low, low + max);
      const scannedTo = low + max < tail.length ? events[events.length - 1].event.position : Math.max(head, position);
      return { events, scannedTo };
    },
    /** Resolves when the head passes `position`, after `timeoutMs`, or when the signal aborts; true for the first. */
    waitBeyond(position: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
      if (head > position) return Promise.resolve(true);
      if (signal.aborted) return Promise.resolve(false);
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          signal.removeEventListener("abort", done);
          resolve(head > position);
        };
        const timer = setTimeout(done, timeoutMs);
        waiters.add(done);
        signal.addEventListener("abort", done, { once: true });
      });
    },
  };
}

export type EventFeed = ReturnType<typeof createEventFeed>;
