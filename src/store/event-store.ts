import type { EventMetadata, RecordedEvent } from "../kernel/events.js";
import type { NewSchedule, ScheduleStore } from "./schedule-store.js";

/** An event about to be appended; the store assigns its revision and position. */
export interface NewEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
}

/**
 * Where an append left the stream. `positions` has one entry per event written: the
 * stream's own events, then those of `otherStreams` in the order the request gave them.
 */
export interface Appended {
  readonly revision: number;
  readonly positions: readonly number[];
  /**
   * The length of the JSON the append's snapshot was saved as, when it saved one. The
   * pipeline spaces a stream's snapshots by it; a store that cannot tell leaves it out.
   */
  readonly snapshotSize?: number;
}

/** The stored answer to a request id, kept in the same transaction as its events. */
export interface RequestRecord {
  readonly requestId: string;
  readonly commandType: string;
  readonly aggregateId: string;
  /** Hash of the command type, aggregate id and validated payload. */
  readonly fingerprint: string;
  /** The result to replay, as JSON-serializable data, decided before the append. */
  readonly result: unknown;
  /** Global positions of the events the append wrote: the store assigns them, so the result cannot hold them. */
  readonly positions: readonly number[];
}

/** A folded state saved at a revision, so loading a long stream reads only what follows. */
export interface Snapshot {
  readonly revision: number;
  /** The aggregate's snapshotVersion when it was taken. */
  readonly version: number;
  readonly state: unknown;
}

/** A snapshot as the store gives it back. */
export interface StoredSnapshot extends Snapshot {
  /** The length of the JSON it was saved as, when the store can tell. */
  readonly size?: number;
}

/**
 * One atomic write: events (maybe none), the request record, maybe a snapshot. Plain data
 * throughout (no callbacks), so that a store may hand it to another thread or process.
 */
export interface AppendRequest {
  readonly tenant: string;
  readonly streamId: string;
  /** Revision the stream must be at; 0 means it must not exist yet. */
  readonly expectedRevision: number;
  readonly events: readonly NewEvent[];
  /** The request record to keep with the events (the store adds the positions); omitted for unrecorded writes. */
  readonly request?: Omit<RequestRecord, "positions">;
  /** A snapshot to save with the events. */
  readonly snapshot?: Snapshot;
  /** Commands to run later, stored only when the events are (schedule-store.ts). */
  readonly schedules?: readonly NewSchedule[];
  /**
   * Read-model documents to change with the events (inline projections), each guarded by its
   * version: one changed since it was read turns the whole append away as a `conflict` naming
   * the document, which the pipeline answers by deciding again.
   */
  readonly documents?: readonly DocumentWrite[];
  /**
   * Other streams of the same tenant written in the same transaction, each guarded by its
   * own expected revision: the append writes every stream or none. Their events follow the
   * stream's own, with consecutive positions.
   */
  readonly otherStreams?: readonly OtherStreamAppend[];
}

/** One more stream in an append (AppendRequest.otherStreams): its guard, its events, maybe a snapshot. */
export interface OtherStreamAppend {
  readonly streamId: string;
  /** Revision the stream must be at; 0 means it must not exist yet. */
  readonly expectedRevision: number;
  readonly events: readonly NewEvent[];
  readonly snapshot?: Snapshot;
}


/** A value a document is indexed by: strings, or numbers (booleans as 0/1, timestamps as epoch ms). */
export type IndexedValue = string | number;

/** One document to write, in the append's tenant (or the commit's, for an async projection). */
export interface DocumentWrite {
  readonly collection: string;
  readonly id: string;
  /** The version it was read at; absent when it must not exist yet. */
  readonly expectedVersion?: number;
  /** The document's new content, or null to delete it. */
  readonly document: unknown;
  /** Its values of the collection's declared fields; a field left out is absent (not matched, not ordered by). */
  readonly fields: Readonly<Record<string, IndexedValue>>;
}

/** A document as a store gives it back. */
export interface DocumentRow {
  readonly id: string;
  readonly version: number;
  readonly data: unknown;
  /** The value of the field the find was ordered by, for the next page's keyset. */
  readonly orderValue?: IndexedValue;
}

/** One condition of a find on a declared field; an `in` compares with any of `values`. */
export type DocumentCondition =
  | { readonly field: string; readonly op: "eq" | "gt" | "gte" | "lt" | "lte"; readonly value: IndexedValue }
  | { readonly field: string; readonly op: "in"; readonly values: readonly IndexedValue[] };

/**
 * A page of documents in a collection, by keyset: ordered by a declared field (documents that
 * lack it are left out, as Firestore does) or by id, then by id, starting after `after`.
 */
export interface DocumentQuery {
  readonly where?: readonly DocumentCondition[];
  /** `numeric`: the field holds numbers (PostgreSQL keeps numbers and strings in separate indexed columns). */
  readonly orderBy?: { readonly field: string; readonly numeric: boolean; readonly direction: "asc" | "desc" };
  /** Direction when ordered by id alone. */
  readonly idDirection?: "asc" | "desc";
  /** The last row of the previous page: its order value (when ordered by a field) and id. */
  readonly after?: { readonly value?: IndexedValue; readonly id: string };
  readonly limit: number;
}

/** Documents of several tenants and the consumer's checkpoint, committed together by an async projection. */
export interface ProjectionCommit {
  /** The checkpoint's (and lease's) name. */
  readonly name: string;
  /** Who holds the lease; a commit by anyone else is refused. */
  readonly owner: string;
  /**
   * The checkpoint the commit goes on from (the owner's last, or the one it claimed): refused
   * when the consumer's is no longer it, as a rebuild's swap moves a live consumer to its head.
   */
  readonly from: number;
  /** The position the consumer has applied every event up to. */
  readonly position: number;
  readonly documents: readonly (DocumentWrite & { readonly tenant: string })[];
}

/** What a rebuild swaps in; see EventStore.replaceCollection. */
export interface CollectionSwap {
  readonly target: string;
  readonly source: string;
  readonly head: number;
  /** The rebuild's consumer, deleted: a later rebuild starts over. */
  readonly rebuildConsumer: string;
  /**
   * Who ran the rebuild's consumer up to `head`: the swap happens only while the consumer
   * still names this owner and is at `head`. Another rebuild of the same collection (one
   * started with the app, one asked for, one per replica) shares the consumer and the source,
   * so it may take the lease this one gave up to swap, or have swapped the source away already.
   */
  readonly owner: string;
  /**
   * The live async projection's consumer, set to `head` with its lease given up: the live
   * runner's next commit is refused as lease-lost, and it goes on from where the rebuild ends
   * with the swapped documents, not the ones it held.
   */
  readonly liveConsumer?: string;
}

/** The shared setting (EventStore.sharedSetting) that says a stored collection has been built: "yes". */
export const builtSettingOf = (collection: string) => `built:${collection}`;

/** A lease on a named consumer: who holds it until when, and its checkpoint. */
export interface ConsumerLease {
  readonly held: boolean;
  readonly owner: string;
  readonly position: number;
}

/**
 * How an append ended. Conflicts and taken request ids are answers, not errors. A conflict
 * on a document (its stream revision matched) names the document; one on one of the request's
 * other streams names it (`streamId`), with that stream's revision.
 */
export type AppendOutcome =
  | ({ readonly kind: "appended" } & Appended)
  | {
      readonly kind: "conflict";
      readonly actualRevision: number;
      readonly document?: { readonly collection: string; readonly id: string };
      readonly streamId?: string;
    }
  | { readonly kind: "request-taken" };

/** Reading a stream forward. */
export interface ReadStreamOptions {
  /** First revision to return (revisions start at 1). */
  readonly fromRevision?: number;
  readonly maxCount?: number;
}

/** Reading every stream of a tenant forward. */
export interface ReadAllOptions {
  /** First global position to return (positions start at 1). */
  readonly fromPosition?: number;
  /** Last global position to return, when given: a reader scans a window and knows how far it looked. */
  readonly toPosition?: number;
  readonly maxCount?: number;
  readonly eventTypes?: readonly string[];
  /** Only events of streams whose id starts with this, when given. */
  readonly streamIdPrefix?: string;
  /**
   * Ends the page after the event that brings the characters of data and metadata read to
   * this, when given (a page always holds at least one event): a consumer's page of large
   * events stays small in memory.
   */
  readonly maxChars?: number;
}

/** An event with the tenant it belongs to, as the commit feed reads them across tenants. */
export interface TenantEvent {
  readonly tenant: string;
  readonly event: RecordedEvent;
  /** Characters of its data and metadata as stored JSON: what keeping it in memory is measured by. */
  readonly size: number;
}

/**
 * The event store as the pipeline sees it. Async so that PostgreSQL fits the same
 * contract; every call is scoped to a tenant, and one tenant never sees another's data.
 */
export interface EventStore {
  /** Appends atomically, guarded by the expected revision. */
  append(request: AppendRequest): Promise<AppendOutcome>;
  readStream(tenant: string, streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(tenant: string, options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Current revision of a stream; 0 when it does not exist. */
  streamRevision(tenant: string, streamId: string): Promise<number>;
  loadSnapshot(tenant: string, streamId: string): Promise<StoredSnapshot | undefined>;
  findRequest(tenant: string, requestId: string): Promise<RequestRecord | undefined>;
  /** The highest global position committed, in any tenant; 0 for an empty store. */
  headPosition(): Promise<number>;
  /**
   * Events of every tenant from a position on, in position order: for the process's own
   * commit feed (consumer/event-feed.ts), which hands each subscriber only its tenant's.
   */
  readAllTenants(options: { readonly fromPosition: number; readonly maxCount?: number; readonly maxChars?: number }): Promise<TenantEvent[]>;
  /**
   * The commit feed: calls `listener` soon after events may have been committed, by this
   * process or another one on the same database, and now and then in any case (a fallback
   * when a notification is lost). A store may hand over the events this process's commit
   * wrote, in position order; otherwise it says nothing of what, and the listener reads
   * that. Returns a function that ends the calls. The store watches for other writers only
   * while someone listens.
   */
  watchCommits(listener: CommitListener): () => void;
  /** A read model's document, or undefined when there is none. Optional: a store without read models has none. */
  fetchDocument?(tenant: string, collection: string, id: string): Promise<DocumentRow | undefined>;
  /** A page of a collection's documents matching every condition, by keyset (an index serves every page alike). */
  findDocuments?(tenant: string, collection: string, query: DocumentQuery): Promise<DocumentRow[]>;
  /**
   * Takes or renews the lease on a named consumer for `ttlMs` when it is free, expired or
   * already `owner`'s, and says who holds it and the consumer's checkpoint.
   */
  claimConsumer?(name: string, owner: string, ttlMs: number): Promise<ConsumerLease>;
  /**
   * Commits an async projection's documents and checkpoint in one transaction, while
   * `owner` holds the lease and the checkpoint is still `from`; "lease-lost" (nothing
   * written) when someone else took the lease or moved the checkpoint.
   */
  commitProjection?(commit: ProjectionCommit): Promise<"committed" | "lease-lost">;
  /**
   * The value kept under `name`, stored as `initial` by the first caller (every process and
   * replica then reads the same): for secrets the whole deployment must share.
   */
  sharedSetting?(name: string, initial: string): Promise<string>;
  /** The position a named consumer has committed (0 when it has none). */
  consumerCheckpoint?(name: string): Promise<number>;
  /**
   * A rebuild's swap, in one write transaction, only while the head is still `head` and the
   * rebuild's consumer is `owner`'s at `head` (else "moved", nothing done): the target collection's documents become the source's, each with
   * a version above the one it replaces (so a command that read the old one conflicts and
   * decides again), the source is emptied, the rebuild's consumer forgotten, the live
   * consumer (an async projection's) moved to `head`, and the target marked built.
   */
  replaceCollection?(swap: CollectionSwap): Promise<"replaced" | "moved">;
  /** Deletes every document of a collection in every tenant (a rebuild's abandoned version). */
  dropCollection?(collection: string): Promise<void>;
  /**
   * Calls `listener` when the store stops being able to write and again when it can; returns
   * a function that ends the calls. Optional: a store that cannot lose its writer has none.
   */
  watchAvailability?(listener: (change: Availability) => void): () => void;
  /**
   * Resolves once the store can write (the SQLite store's writer thread has opened the
   * file), and rejects when it cannot start. Appends made before then wait; a service waits
   * for it before it says it is serving. Optional: a store that is ready when opened has none.
   */
  ready?(): Promise<void>;
  /** The scheduled commands kept in the same database; optional for stores that keep none. */
  readonly schedules?: ScheduleStore;
  close(): Promise<void>;
}

/** A change in whether a store can write; `reason` says why it cannot. */
export interface Availability {
  readonly available: boolean;
  readonly reason?: string;
}

/** The listeners of a store's watchAvailability, and a way to tell them all of a change. */
export function availabilityListeners() {
  const listeners = new Set<(change: Availability) => void>();
  return {
    tell: (change: Availability) => listeners.forEach((listener) => listener(change)),
    watch(listener: (change: Availability) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Why the store could not serve a call: the caller may retry later; no data was harmed. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
  constructor(
    /** Stable reason, e.g. STORE_BUSY, STORE_READ_ONLY, STORE_FULL, STORE_CORRUPT. */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Told of commits (EventStore.watchCommits). `committed`, when given, returns the events a
 * commit of this process wrote, in position order (made on the first call, for every
 * listener); it says nothing of other writers' events, so a listener takes them only when
 * they follow what it already has.
 */
export type CommitListener = (committed?: () => readonly TenantEvent[]) => void;

/** The listeners of a store's watchCommits; `onFirst` starts watching other writers, its result stops it. */
export function commitListeners(onFirst: () => () => void) {
  const listeners = new Set<CommitListener>();
  let stop: (() => void) | undefined;
  return {
    tell(committed?: () => readonly TenantEvent[]): void {
      let made: readonly TenantEvent[] | undefined;
      const once = committed && (() => (made ??= committed()));
      listeners.forEach((listener) => listener(once));
    },
    get watched(): boolean {
      return listeners.size > 0;
    },
    watch(listener: CommitListener): () => void {
      listeners.add(listener);
      if (listeners.size === 1) stop = onFirst();
      return () => {
        if (!listeners.delete(listener) || listeners.size > 0) return;
        stop?.();
        stop = undefined;
      };
    },
  };
}

/** Default and largest page size of a read. */
export const DEFAULT_PAGE = 1000;
export const MAX_PAGE = 10_000;

/** Clamps a requested page size to 1..MAX_PAGE, with 0 or absent meaning DEFAULT_PAGE. */
export function pageSize(maxCount: number | undefined): number {
  if (!maxCount || maxCount <= 0) return DEFAULT_PAGE;
  return Math.min(maxCount, MAX_PAGE);
}
