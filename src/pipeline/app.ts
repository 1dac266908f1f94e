import type { z } from "zod";
import { streamIdOf, type Aggregate } from "../kernel/aggregate.js";
import type { AnyCommand, MethodName } from "../kernel/command.js";
import { methodName } from "../kernel/command.js";
import type { DomainEvent } from "../kernel/events.js";
import { DEFAULT_TENANT } from "../kernel/identity.js";
import type { CommandResult } from "../kernel/result.js";
import type { EventStore } from "../store/event-store.js";
import { createEventFeed, type EventFeed } from "../consumer/event-feed.js";
import { consume, type ConsumeOptions, type ConsumerMessage, type ConsumerPosition } from "../consumer/subscription.js";
import type { CommandEnvelope, CommandMetadata } from "./envelope.js";
import { createPipeline, type PipelineOptions } from "./execute.js";
import type { LoadedState } from "./load-state.js";
import type { ReadModels } from "../read/read-models.js";
import { createReadModels } from "../read/read-service.js";
import { startProjectionRunner, type ProjectionRunner } from "../read/projection-runner.js";
import { rebuildProjection } from "../read/rebuild.js";

/** Options of one typed in-process call; the payload is the first argument. */
export interface CallOptions extends CommandMetadata {
  readonly expectedRevision?: number;
}

/** `app.commands.recordPayment(payload, options)`: one typed method per registered command. */
export type CommandMethods<Cs extends readonly AnyCommand[]> = {
  [C in Cs[number] as MethodName<C["type"]>]: (payload: z.input<C["payload"]>, options?: CallOptions) => Promise<CommandResult>;
};

/** A running domain: commands in, results out, and read access to state and events. */
export interface App<Cs extends readonly AnyCommand[]> {
  execute(envelope: CommandEnvelope): Promise<CommandResult>;
  readonly commands: CommandMethods<Cs>;
  /** Every registered command, keyed by type. */
  readonly registry: ReadonlyMap<string, AnyCommand>;
  /**
   * Current state of one aggregate, for queries. Revision 0 means it does not exist. It reads
   * the events after the state the commands' cache holds, so another process's writes show.
   */
  loadState<S>(aggregate: Aggregate<S, DomainEvent>, aggregateId: string, tenant?: string): Promise<LoadedState<S>>;
  readonly store: EventStore;
  /** What this process knows has been committed: the head and a tail of recent events, shared by every consumer. */
  readonly feed: EventFeed;
  /**
   * Follows the events of a tenant: catch-up from a position, then live (consumer/subscription.ts).
   * `at.told` says, at any moment, the last position the consumer was told.
   */
  subscribe(options: ConsumeOptions, at?: ConsumerPosition): AsyncGenerator<ConsumerMessage, void, undefined>;
  /** The read models (PipelineOptions.projections): fetch, find, findOne, query, in a tenant, with minPosition. */
  readonly read: ReadModels;
  close(): Promise<void>;
}

/** How an app runs beside its pipeline. */
export interface AppOptions {
  readonly feedTailSize?: number;
  /** Runs the async projections in this process (each where it holds the lease; true by default). */
  readonly runAsyncProjections?: boolean;
  /** How long an async projection's lease lasts unrenewed, in ms (projection-runner.ts). */
  readonly projectionLeaseMs?: number;
  /** Told when an async projection fails and will be tried again. */
  readonly onProjectionError?: (error: unknown) => void;
}

/** How long closing waits for the async projections' runners before it closes the store under them. */
const CLOSE_GRACE_MS = 1000;

/** Wires the pipeline, the store and the commands into an app. */
export function createApp<const Cs extends readonly AnyCommand[]>(options: PipelineOptions & AppOptions & { commands: Cs }): App<Cs> {
  const pipeline = createPipeline(options);
  const feed = createEventFeed(options.store, { tailSize: options.feedTailSize });
  const projections = options.projections ?? [];
  // A projection version never built on this store (new, or deployed in a new version) is rebuilt from the events by itself.
  const stopRebuilds = new AbortController();
  const rebuilds = projections
    .filter((p) => p.mode === "inline" || options.runAsyncProjections !== false)
    .map((projection) =>
      rebuildProjection({ store: options.store, feed, projection, projections, onlyIfUnbuilt: true, signal: stopRebuilds.signal }).catch((error: unknown) => {
        if (!stopRebuilds.signal.aborted) options.onProjectionError?.(error);
      }),
    );
  const runners: ProjectionRunner[] =
    options.runAsyncProjections === false
      ? []
      : projections
          .filter((p) => p.mode === "async")
          .map((projection) => startProjectionRunner({ store: options.store, feed, projection, projections, leaseMs: options.projectionLeaseMs, onError: options.onProjectionError }));
  const methods: Record<string, (payload: unknown, call?: CallOptions) => Promise<CommandResult>> = {};
  for (const command of options.commands) {
    methods[methodName(command.type)] = (payload, call = {}) =>
      pipeline.execute({ type: command.type, payload, expectedRevision: call.expectedRevision, metadata: call });
  }
  return {
    execute: pipeline.execute,
    commands: methods as CommandMethods<Cs>,
    registry: pipeline.commands,
    loadState: (aggregate, aggregateId, tenant = DEFAULT_TENANT) => pipeline.loadState(aggregate, tenant, streamIdOf(aggregate, aggregateId)),
    store: options.store,
    feed,
    subscribe: (consumeOptions, at = { told: 0 }) => consume(options.store, feed, consumeOptions, at),
    read: createReadModels({ store: options.store, projections, feed }),
    async close() {
      stopRebuilds.abort();
      const stopping = Promise.all([...rebuilds, ...runners.map((runner) => runner.stop())]);
      // A runner's last commit may wait on the store (another process holding SQLite's write
      // lock): closing the store fails that wait, so the app closes within the caller's budget.
      await Promise.race([stopping, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
      await options.store.close();
      await Promise.race([stopping, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
    },
  };
}
