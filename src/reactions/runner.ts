import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { lingering, takingTurns } from "../consumer/commit-turns.js";
import { streamIdOf } from "../kernel/aggregate.js";
import type { Identity } from "../kernel/identity.js";
import { reactionContext, reactionEventOf, type AnyReaction, type CollaboratorCall, type CommandToIssue, type ReactionEvent, type ReadModelLookup } from "../kernel/reaction.js";
import type { CommandResult } from "../kernel/result.js";
import type { App } from "../pipeline/app.js";
import { MAX_PAGE } from "../store/event-store.js";
import { reactionIdentity, type DeadEffect, type DeadLetterSink } from "./dead-letter.js";
import type { ReactionLedger } from "./ledger.js";

/** What a runner needs: the app it issues commands through and follows events of, and where it keeps its place. */
export interface ReactionRunnerOptions {
  readonly app: Pick<App<any>, "execute" | "subscribe" | "registry" | "store">;
  readonly reaction: AnyReaction;
  /** The collaborators the reaction's calls name, by port name. */
  readonly ports: Readonly<Record<string, object>>;
  readonly ledger: ReactionLedger;
  readonly deadLetters: DeadLetterSink;
  /** A command deeper than this in a chain of reactions becomes a dead letter (REACTION_MAX_DEPTH). */
  readonly maxDepth: number;
  /** Tries of an effect that fails for want of infrastructure, before it becomes a dead letter (REACTION_MAX_ATTEMPTS). */
  readonly maxAttempts: number;
  /** How long the lease lasts without renewal (REACTION_LEASE_MS); it is renewed every third of it. */
  readonly leaseMs: number;
  /** Who this runner is in the lease table; a fresh id by default. */
  readonly owner?: string;
  /** Wait before try n+1 of a failing effect (n from 1): 100 ms doubling to 5 s by default. */
  readonly backoffMs?: (attempt: number) => number;
  readonly readModel?: ReadModelLookup;
  /** Told of what the runner does, for the log. */
  readonly onNote?: (message: string, facts: Record<string, unknown>) => void;
}

/** A running reaction runner. */
export interface ReactionRunner {
  /** Stops following events, lets the effect under way finish or be cut, and gives the lease up. */
  stop(): Promise<void>;
}

/** Statuses that are the command's answer: an acceptance or a domain's refusal; the effect is done either way. */
const ANSWERED = new Set(["accepted", "rejected", "not_found", "already_exists"]);
/** Statuses no retry can change: the reaction issued a command the pipeline will never take. */
const REFUSED = new Set(["invalid", "unauthorized"]);
/** How long the checkpoint of effect-free events may trail them. */
const LINGER_MS = 50;

/**
 * Runs one reaction over every tenant's events, on the checkpointed consumer, with exactly one
 * runner per reaction among the processes and replicas on a database (a lease in the ledger,
 * renewed while it runs; a runner that lost it stops before it moves the checkpoint).
 *
 * Exactly once, per effect: each command goes through the pipeline with a request id derived
 * from the reaction, the event id and the effect's index, so a command redelivered within the
 * request retention is answered from its record. Beyond that window the ledger's mark decides:
 * the mark says how many of an event's effects were noted done, so only the one effect that was
 * under way when a runner stopped can be in doubt, and for it the runner looks in the target
 * stream for an event carrying its request id (events do not expire) before it issues it. A
 * command in doubt that wrote no event (a rejection, a no-op) is decided again, which writes
 * nothing twice. A collaborator call in doubt is made again with the same idempotency key.
 *
 * A command carries the event's traceparent, so its span joins the trace of the command that
 * wrote the event, as a child of that command's span.
 */
export function startReactionRunner(options: ReactionRunnerOptions): ReactionRunner {
  const { app, reaction, ledger } = options;
  const name = reaction.name;
  const owner = options.owner ?? randomUUID();
  const backoffMs = options.backoffMs ?? ((attempt: number) => Math.min(5000, 100 * 2 ** (attempt - 1)));
  const note = options.onNote ?? (() => undefined);
  const stopping = new AbortController();
  const context = reactionContext<Record<string, object>>(options.readModel);

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        const lease = await ledger.claim(name, owner, options.leaseMs);
        if (!lease.held) {
          await sleep(options.leaseMs / 2, undefined, { signal: stopping.signal }).catch(() => undefined);
          continue;
        }
        note("reaction runner holds the lease", { reaction: name, owner, position: lease.position });
        await follow(lease.position);
        failures = 0;
      } catch (error) {
        if (stopping.signal.aborted) break;
        failures++;
        note("reaction runner failed; starting again", { reaction: name, error: String(error) });
        await sleep(backoffMs(failures), undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  }

  /** Follows the events from the checkpoint until the lease is lost or the runner stops. */
  async function follow(from: number): Promise<void> {
    const held = new AbortController();
    const signal = AbortSignal.any([stopping.signal, held.signal]);
    const renewal = setInterval(() => {
      ledger.claim(name, owner, options.leaseMs).then(
        (lease) => lease.held || held.abort(),
        () => undefined, // a renewal that failed is tried again at the next tick; the commit is what is fenced
      );
    }, options.leaseMs / 3);
    let committed = from;
    // Commits take turns: one a timer started never overtakes one the loop awaits.
    const turns = takingTurns();
    const commit = (position: number, settledEventId?: string): Promise<void> =>
      turns.run(async () => {
        if (position <= committed && settledEventId === undefined) return;
        // A runner whose lease was taken stops here: the new owner's checkpoint is not moved.
        if ((await ledger.commit(name, owner, Math.max(position, committed), settledEventId)) === "lease-lost") held.abort();
        else committed = Math.max(position, committed);
      });
    // An event that asks for no effect (most of them) needs no commit of its own: its position
    // is committed with the next commit, at most LINGER_MS later. Each would otherwise cost a
    // transaction, and re-reading a few effect-free events after a crash changes nothing.
    let quiet = from;
    const later = lingering(LINGER_MS, () => {
      commit(quiet).catch(() => held.abort()); // the ledger failed: claim again, from the checkpoint
    });
    try {
      for await (const message of app.subscribe({ after: from, filter: { eventTypes: reaction.eventTypes }, signal })) {
        if (message.kind === "event") {
          const event = reactionEventOf(message.event, message.tenant);
          const acted = await handle(event, signal);
          if (signal.aborted) return;
          if (acted) await commit(event.position, event.id);
          else {
            quiet = event.position;
            later.soon();
          }
        } else if (message.kind === "checkpoint" && message.position > committed) {
          await commit(message.position);
        }
        if (signal.aborted) return;
      }
    } finally {
      clearInterval(renewal);
      later.cancel();
      await turns.settled();
      if (!held.signal.aborted && quiet > committed) await commit(quiet).catch(() => undefined);
    }
  }

  /** Carries out the effects of one event that are not done yet; false when it asks for none. */
  async function handle(event: ReactionEvent, signal: AbortSignal): Promise<boolean> {
    const effects = await reaction.react(event, context);
    if (effects.length === 0) return false;
    const done = await ledger.effectsDone(name, event.id);
    if (done === undefined) await ledger.noteEffects(name, event.id, 0);
    for (let i = done ?? 0; i < effects.length; i++) {
      const effect = effects[i];
      const key = `${name}:${event.id}:${i}`;
      const inDoubt = done !== undefined && i === done;
      if (effect.kind === "command") await issue(event, effect, key, inDoubt, signal);
      else await call(event, effect, key, signal);
      if (signal.aborted) return true;
      await ledger.noteEffects(name, event.id, i + 1);
    }
    return true;
  }

  /** Issues one command through the pipeline, retrying what infrastructure failed. */
  async function issue(event: ReactionEvent, command: CommandToIssue, requestId: string, inDoubt: boolean, signal: AbortSignal): Promise<void> {
    const depth = (event.metadata.reactionDepth ?? 0) + 1;
    const dead: DeadEffect = {
      kind: "command",
      type: command.type,
      aggregateId: command.aggregateId,
      payload: command.payload,
      requestId,
      correlationId: event.metadata.correlationId,
      causationId: event.id,
      reactionDepth: depth,
      ...(event.metadata.traceparent === undefined ? {} : { traceparent: event.metadata.traceparent }),
    };
    if (depth > options.maxDepth) {
      const why = `the command would be ${depth} reactions deep, past REACTION_MAX_DEPTH=${options.maxDepth}: a chain of reactions that loops? (${reaction.name} on ${event.type} ${event.id})`;
      return bury(event, dead, "REACTION_DEPTH_EXCEEDED", 0, why);
    }
    if (inDoubt && (await alreadyWritten(event.tenant, command, requestId))) return;
    const identity: Identity = reactionIdentity(event.tenant, name);
    let last = "";
    for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
      const result: CommandResult = await app.execute({
        type: command.type,
        aggregateId: command.aggregateId,
        payload: command.payload,
        metadata: { requestId, correlationId: event.metadata.correlationId, causationId: event.id, reactionDepth: depth, identity, traceparent: event.metadata.traceparent },
      });
      if (ANSWERED.has(result.status)) {
        note("reaction issued a command", { reaction: name, eventId: event.id, commandType: command.type, aggregateId: command.aggregateId, status: result.status, replayed: result.replayed });
        return;
      }
      last = `${result.status}${"message" in result ? `: ${result.message}` : ""}${"errorId" in result ? ` (error id ${result.errorId})` : ""}`;
      if (REFUSED.has(result.status)) return bury(event, dead, "COMMAND_REFUSED", attempt, last);
      if (attempt < options.maxAttempts && !(await pause(attempt, signal))) return;
    }
    return bury(event, dead, "ATTEMPTS_EXHAUSTED", options.maxAttempts, last);
  }

  /** Calls a collaborator, retrying a call that threw. */
  async function call(event: ReactionEvent, effect: CollaboratorCall, idempotencyKey: string, signal: AbortSignal): Promise<void> {
    const dead: DeadEffect = { kind: "call", port: effect.port, method: effect.method, argument: effect.argument, idempotencyKey };
    const port = options.ports[effect.port] as Record<string, unknown> | undefined;
    const method = port?.[effect.method];
    if (typeof method !== "function") return bury(event, dead, "UNKNOWN_PORT", 0, `no port "${effect.port}" with a method "${effect.method}" is wired`);
    let last = "";
    for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
      try {
        await method.call(port, effect.argument, { idempotencyKey, signal });
        note("reaction called a collaborator", { reaction: name, eventId: event.id, port: effect.port, method: effect.method });
        return;
      } catch (error) {
        if (signal.aborted) return;
        last = error instanceof Error ? error.message : String(error);
      }
      if (attempt < options.maxAttempts && !(await pause(attempt, signal))) return;
    }
    return bury(event, dead, "ATTEMPTS_EXHAUSTED", options.maxAttempts, last);
  }

  /** True when the command's stream holds an event its request id wrote: it ran before the runner could note it. */
  async function alreadyWritten(tenant: string, command: CommandToIssue, requestId: string): Promise<boolean> {
    const definition = app.registry.get(command.type);
    if (!definition) return false;
    const streamId = streamIdOf(definition.aggregate, command.aggregateId);
    for (let from = 1; ; ) {
      const events = await app.store.readStream(tenant, streamId, { fromRevision: from, maxCount: MAX_PAGE });
      if (events.some((e) => e.metadata.requestId === requestId)) return true;
      if (events.length < MAX_PAGE) return false;
      from = events[events.length - 1].revision + 1;
    }
  }

  async function bury(event: ReactionEvent, effect: DeadEffect, reason: string, attempts: number, lastError: string): Promise<void> {
    note("reaction gave up on an effect", { reaction: name, eventId: event.id, reason, attempts, lastError });
    await options.deadLetters({ source: "reaction", name, tenant: event.tenant, eventId: event.id, eventType: event.type, effect, reason, attempts, lastError });
  }

  /** Waits out the backoff after a failed try; false when the runner stopped meanwhile. */
  async function pause(attempt: number, signal: AbortSignal): Promise<boolean> {
    await sleep(backoffMs(attempt), undefined, { signal }).catch(() => undefined);
    return !signal.aborted;
  }

  const running = run();
  return {
    async stop() {
      stopping.abort();
      await running;
      await ledger.release(name, owner).catch(() => undefined);
    },
  };
}
