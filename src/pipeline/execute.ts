import { randomUUID } from "node:crypto";
// Time-ordered ids: new events land at the end of the event-id index instead of on a random page.
import { v7 as uuidv7 } from "uuid";
import { fold, streamIdOf, type Aggregate } from "../kernel/aggregate.js";
import { copyWith } from "../kernel/copy-with.js";
import { systemCollaborators, type Collaborators } from "../kernel/collaborators.js";
import type { AnyCommand } from "../kernel/command.js";
import type { AnyProjection } from "../kernel/projection.js";
import { settle } from "../kernel/decision.js";
import type { DomainEvent, EventMetadata } from "../kernel/events.js";
import { authorize, ruleDenial, type StateRule } from "../kernel/policy.js";
import { resultOf, type CommandResult, type WrittenEvent } from "../kernel/result.js";
import { StoreUnavailableError, type EventStore, type NewEvent } from "../store/event-store.js";
import type { NewSchedule } from "../store/schedule-store.js";
import type { CommandEnvelope } from "./envelope.js";
import { NO_HOOKS, observed, timed, timedSync, type PipelineHooks } from "./hooks.js";
import { createInlineProjections } from "./inline-projections.js";
import { loadState, type LoadedState } from "./load-state.js";
import { conflict, recordOf, settled, withPositions } from "./outcomes.js";
import { echo, invalid, prepare, type Prepared } from "./prepare.js";
import {
  loadRelated,
  otherStreamsOf,
  relatedStatesOf,
  relatedTargetsOf,
  relatedWritesOf,
  runInLanes,
  sameTargets,
  type RelatedTarget,
  type RelatedWrite,
} from "./related-streams.js";
import { schedulesOf } from "./schedules.js";
import { createStateCache, streamKey } from "./state-cache.js";
import { createStreamLanes } from "./stream-lanes.js";
import { metadataOf, oversized, snapshotDue } from "./writes.js";

/** How a pipeline is built. */
export interface PipelineOptions {
  readonly store: EventStore;
  readonly commands: readonly AnyCommand[];
  readonly collaborators?: Collaborators;
  /** Reloads after a revision conflict when no expected revision was given. */
  readonly maxRetries?: number;
  /** Folded states kept in memory (10,000 by default); 0 turns the cache off. */
  readonly stateCacheSize?: number;
  /** The most the cached states weigh, in characters of their JSON (state-cache.ts; 16 Mi by default). */
  readonly stateCacheChars?: number;
  /** Told about every unexpected failure with the id the caller sees. */
  readonly onFailure?: (errorId: string, error: unknown, envelope: CommandEnvelope) => void;
  /**
   * The largest event a command may write, in characters: its id, stream id, type, and the
   * JSON of its data and metadata. A command whose decision holds a larger event is answered
   * invalid (EVENT_TOO_LARGE) and writes nothing, so that no event is stored that a read
   * could not return. No limit when absent; the service derives it from MAX_MESSAGE_BYTES.
   */
  readonly maxEventChars?: number;
  /** Told about each command's stages, retries, appends and answer (hooks.ts): where metrics and tracing attach. */
  readonly hooks?: PipelineHooks;
  /** Read models; the inline ones change their documents in each command's append (inline-projections.ts). */
  readonly projections?: readonly AnyProjection[];
}

/** Runs commands: validate, authorize, deduplicate, load, decide, append, retry. */
export interface Pipeline {
  execute(envelope: CommandEnvelope): Promise<CommandResult>;
  /**
   * A stream's current state, for queries: the cached state brought up to date with the
   * events after it (one read, usually empty), or loaded and then cached.
   */
  loadState<S>(aggregate: Aggregate<S, DomainEvent>, tenant: string, streamId: string): Promise<LoadedState<S>>;
  readonly commands: ReadonlyMap<string, AnyCommand>;
}

/** Builds the pipeline over a store and a set of commands. */
export function createPipeline(options: PipelineOptions): Pipeline {
  const { store } = options;
  const collaborators = options.collaborators ?? systemCollaborators;
  const maxRetries = options.maxRetries ?? 5;
  const cache = createStateCache({ maxEntries: options.stateCacheSize ?? 10_000, maxChars: options.stateCacheChars ?? 16 * 2 ** 20 });
  const lanes = createStreamLanes();
  const commands = new Map(options.commands.map((c) => [c.type, c]));
  const hooks = options.hooks ?? NO_HOOKS;
  const projector = createInlineProjections(store, options.projections ?? []);

  async function execute(envelope: CommandEnvelope): Promise<CommandResult> {
    const commandId = uuidv7();
    const requestId = envelope.metadata?.requestId || undefined;
    // Echoed in every result (and so in gRPC trailers): bounded even before validation names them.
    const base = {
      commandId,
      commandType: echo(envelope.type),
      aggregateId: echo(envelope.aggregateId ?? ""),
      correlationId: echo(envelope.metadata?.correlationId || requestId || commandId),
      replayed: false,
    };
    try {
      const prepared = timedSync(hooks, "validate", base, () => prepare(commands, hooks, envelope, base));
      if ("status" in prepared) return prepared;
      const { command, identity } = prepared;

      const access = timedSync(hooks, "authorize", prepared.base, () => authorize(command.policy, identity, command.type));
      if (access.kind === "denied") return resultOf(prepared.base, { status: "unauthorized", reason: access.reason, message: access.message });

      const streamId = streamIdOf(command.aggregate, prepared.aggregateId);
      const rules = access.kind === "needs-state" ? access.rules : undefined;
      if (command.related === undefined) return await lanes.run(streamKey(identity.tenant, streamId), () => attempt(prepared, streamId, rules));
      return await executeOverStreams(prepared, streamId, rules);
    } catch (error) {
      if (error instanceof StoreUnavailableError) return resultOf(base, { status: "unavailable", message: error.message });
      const errorId = randomUUID();
      options.onFailure?.(errorId, error, envelope);
      return resultOf(base, { status: "failed", errorId });
    }
  }

  /**
   * The answer to give when the store has not checked the request id: the earlier call's
   * result when this is a retry of it, else `result`. Results the store records are checked
   * there, in the transaction that would record them (`request-taken`), so the common path
   * of a new request id reads nothing to deduplicate.
   */
  async function unlessReplayed(p: Prepared, result: CommandResult): Promise<CommandResult> {
    return (p.requestId && (await replay(p))) || result;
  }

  /** The stored result of an earlier call with this request id, if any. */
  async function replay(p: Prepared): Promise<CommandResult | undefined> {
    const record = await store.findRequest(p.identity.tenant, p.requestId!);
    if (!record) return undefined;
    if (record.fingerprint !== p.fingerprint) {
      const message = `request id "${p.requestId}" was already used for a different command; a new or changed command needs a new request id`;
      return invalid(p.base, "REQUEST_ID_REUSED", message, [
        { field: "requestId", description: `already used for ${record.commandType} on "${record.aggregateId}" with a different payload` },
      ]);
    }
    return copyWith(withPositions(record.result as CommandResult, record.positions), { replayed: true });
  }

  /**
   * A command over several streams: its related streams follow from its payload and own
   * state, so they are resolved on the state as known now, their lanes taken with its own,
   * and resolved again on the state the attempt loads; should they differ (the own stream
   * changed meanwhile), the lanes are taken again for the streams now named.
   */
  async function executeOverStreams(p: Prepared, streamId: string, rules: readonly StateRule<unknown, unknown>[] | undefined): Promise<CommandResult> {
    const tenant = p.identity.tenant;
    for (;;) {
      const known = await loadState(store, p.command.aggregate, tenant, streamId, cache, false, p.command.stream === "must-be-new");
      const targets = relatedTargetsOf(p.command, p.payload, known.state, streamId);
      const ids = [streamId, ...targets.map((t) => t.streamId)];
      const result = await runInLanes(lanes, tenant, ids, () => attempt(p, streamId, rules, targets));
      if (result !== undefined) return result;
    }
  }

  /**
   * Load, decide, append; reload and retry on a conflict unless a revision was expected.
   * With `targets` (a command over several streams): undefined when the loaded state names
   * other related streams than those whose lanes are held.
   */
  async function attempt(p: Prepared, streamId: string, rules: readonly StateRule<unknown, unknown>[] | undefined): Promise<CommandResult>;
  async function attempt(
    p: Prepared,
    streamId: string,
    rules: readonly StateRule<unknown, unknown>[] | undefined,
    targets: readonly RelatedTarget[],
  ): Promise<CommandResult | undefined>;
  async function attempt(
    p: Prepared,
    streamId: string,
    rules: readonly StateRule<unknown, unknown>[] | undefined,
    targets?: readonly RelatedTarget[],
  ): Promise<CommandResult | undefined> {
    const { command, identity } = p;
    const tenant = identity.tenant;
    const explicit = p.expectedRevision;
    // The first round decides on the cached state without reading the store, and a command
    // whose stream must be new on an empty stream when none is cached: the append's revision
    // guard catches a state another process has moved on or a stream that exists, and later
    // rounds verify.
    const assumeNew = command.stream === "must-be-new";
    let verify = p.dryRun;
    let retries = 0;
    for (;;) {
      const loaded = await timed(hooks, "load", p.base, () => loadState(store, command.aggregate, tenant, streamId, cache, verify, assumeNew));
      if (targets && !sameTargets(targets, relatedTargetsOf(command, p.payload, loaded.state, streamId))) return undefined;

      const denied = rules !== undefined && !rules.some((r) => r.allows(loaded.state, identity, p.payload));
      const mismatch = explicit !== undefined && explicit !== loaded.revision;
      if ((denied || mismatch) && !loaded.verified) {
        // Answers that write nothing are not guarded by an append (a dry run reads fresh state from the start): confirm them on fresh state.
        verify = true;
        continue;
      }
      if (denied) {
        const message = ruleDenial(command.type, command.policy, rules!);
        return unlessReplayed(p, resultOf(p.base, { status: "unauthorized", reason: "PERMISSION_DENIED", message }));
      }
      if (mismatch) return unlessReplayed(p, conflict(p, explicit!, loaded.revision));

      let result: CommandResult;
      let events: NewEvent[] = [];
      let schedules: NewSchedule[] | undefined;
      let newState = loaded.state;
      let relatedWrites: RelatedWrite[] = [];
      if (command.stream === "must-exist" && loaded.revision === 0) {
        result = resultOf(p.base, { status: "not_found", message: `${command.aggregate.name} "${p.aggregateId}" does not exist` });
      } else if (command.stream === "must-be-new" && loaded.revision > 0) {
        result = resultOf(p.base, { status: "already_exists", message: `${command.aggregate.name} "${p.aggregateId}" already exists`, revision: loaded.revision });
      } else {
        // Object.assign, not a spread: see copy-with.ts.
        const related = targets ? await loadRelated(store, tenant, targets, cache, verify) : [];
        const context = Object.assign({}, collaborators, { identity, revision: loaded.revision, related: relatedStatesOf(related) });
        const decision = timedSync(hooks, "decide", p.base, () => settle(command.decide(loaded.state, { aggregateId: p.aggregateId, payload: p.payload }, context)));
        const now = collaborators.clock();
        let metadata: EventMetadata | undefined;
        const toNew = (e: DomainEvent): NewEvent => ({ id: uuidv7(), type: e.type, data: e.data, metadata: (metadata ??= metadataOf(p, tenant, now)) });
        if (decision.kind === "rejection") {
          // A rejection writes nothing, but it too is guarded by every related stream's revision.
          relatedWrites = relatedWritesOf(command, related, undefined, toNew);
          result = resultOf(p.base, { status: "rejected", code: decision.code, message: decision.message, revision: loaded.revision });
        } else {
          events = decision.events.map(toNew);
          relatedWrites = relatedWritesOf(command, related, decision.related, toNew);
          schedules = schedulesOf(decision, commands, { identity, correlationId: p.base.correlationId, commandId: p.base.commandId, traceparent: p.traceparent }, now);
          const tooLarge = oversized(events, streamId, options.maxEventChars) ?? relatedWrites.map((w) => oversized(w.events, w.target.streamId, options.maxEventChars)).find(Boolean);
          if (tooLarge) return unlessReplayed(p, invalid(p.base, "EVENT_TOO_LARGE", tooLarge, []));
          newState = fold(command.aggregate, loaded.state, decision.events as DomainEvent[]);
          // Revisions are known before the append; positions only after it (withPositions).
          const written: WrittenEvent[] = events.map((e, i) => ({ id: e.id, type: e.type, revision: loaded.revision + 1 + i, position: 0 }));
          for (const w of relatedWrites) {
            const from = w.target.loaded.revision + 1;
            w.events.forEach((e, i) => written.push({ id: e.id, type: e.type, revision: from + i, position: 0, streamId: w.target.streamId }));
          }
          result = resultOf(p.base, { status: "accepted", revision: loaded.revision + events.length, position: 0, events: written, response: decision.response });
        }
      }

      if (p.dryRun) return unlessReplayed(p, result);
      const request = p.requestId && settled(command, result) ? recordOf(p, result) : undefined;
      const documents = events.length > 0 ? await projector.documentsFor(tenant, streamId, loaded.revision, events) : undefined;
      const outcome = await timed(hooks, "append", p.base, () => store.append({
        tenant,
        streamId,
        expectedRevision: loaded.revision,
        events,
        request,
        snapshot: events.length > 0 ? snapshotDue(command.aggregate, loaded.revision, loaded.revision + events.length, newState, loaded.snapshotSize) : undefined,
        schedules,
        documents,
        ...(relatedWrites.length > 0
          ? { otherStreams: otherStreamsOf(relatedWrites, (w) => snapshotDue(w.target.aggregate, w.target.loaded.revision, w.target.loaded.revision + w.events.length, w.newState, w.target.loaded.snapshotSize)) }
          : {}),
      }));
      projector.settled(tenant, documents, outcome);
      if (outcome.kind === "appended") {
        if (events.length > 0) {
          const snapshotSize = outcome.snapshotSize ?? loaded.snapshotSize;
          cache.set(streamKey(tenant, streamId), { state: newState, revision: outcome.revision, snapshotSize });
          hooks.appended?.({ ...p.base, tenant, streamId, revision: outcome.revision, positions: outcome.positions });
        }
        for (const w of relatedWrites) {
          if (w.events.length === 0) continue;
          const revision = w.target.loaded.revision + w.events.length;
          cache.set(streamKey(tenant, w.target.streamId), { state: w.newState, revision, snapshotSize: w.target.loaded.snapshotSize });
        }
        const answer = withPositions(result, outcome.positions);
        return request ? answer : unlessReplayed(p, answer);
      }
      if (outcome.kind === "request-taken") {
        const replayed = await replay(p);
        if (replayed) return replayed;
        // Its record expired and was deleted after the append saw it: the id is free again.
        if (retries >= maxRetries) return conflict(p, loaded.revision, loaded.revision);
      } else {
        hooks.conflicted?.({ ...p.base, expectedRevision: loaded.revision, actualRevision: outcome.actualRevision });
        // An explicit expected revision is the caller's about the command's own stream alone: a
        // related stream or an inline projection's document that moved on is decided again.
        const ownStream = outcome.streamId === undefined && outcome.document === undefined;
        if (explicit !== undefined && ownStream) return unlessReplayed(p, conflict(p, explicit, outcome.actualRevision));
        if (assumeNew && !loaded.verified && loaded.revision === 0 && ownStream) {
          // The stream was only assumed new, and exists: read it, without counting a retry.
          verify = true;
          continue;
        }
        if (retries >= maxRetries) {
          const other = outcome.streamId === undefined ? undefined : relatedWrites.find((w) => w.target.streamId === outcome.streamId);
          if (other) return unlessReplayed(p, conflict(p, other.target.loaded.revision, outcome.actualRevision, other.target.streamId));
          return unlessReplayed(p, conflict(p, loaded.revision, outcome.actualRevision));
        }
      }
      verify = true;
      hooks.retried?.({ ...p.base, retry: retries + 1, reason: outcome.kind });
      await backoff(retries++);
    }
  }

  return {
    execute: observed(hooks, execute),
    loadState: (aggregate, tenant, streamId) => loadState(store, aggregate, tenant, streamId, cache),
    commands,
  };
}

/** Waits a random 0..2^round ms (capped at 50 ms) so racing writers spread out. */
function backoff(round: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 ** (round + 1));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
