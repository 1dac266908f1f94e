import type { CommandResult } from "../kernel/result.js";
import type { CommandEnvelope } from "./envelope.js";

/** The stages of one command, in the order they run (load, decide and append once per attempt). */
export type PipelineStage = "validate" | "authorize" | "load" | "decide" | "append";

/** Which command a fact is about, as far as the pipeline knows it at that point. */
export interface CommandFacts {
  readonly commandId: string;
  readonly commandType: string;
  readonly aggregateId: string;
}

/** One stage of one command, timed. */
export interface StageTiming extends CommandFacts {
  readonly stage: PipelineStage;
  /** When the stage started, in ms since the epoch (sub-millisecond precision). */
  readonly startedAt: number;
  readonly durationMs: number;
}

/** A revision conflict (or a request id taken meanwhile) sent the command round again. */
export interface RetryFacts extends CommandFacts {
  /** 1 for the first retry. */
  readonly retry: number;
  /** "conflict": the stream moved on between load and append; "request-taken": the request id was recorded meanwhile. */
  readonly reason: "conflict" | "request-taken";
}

/** The append found the stream at another revision than the command was decided on. */
export interface ConflictFacts extends CommandFacts {
  readonly expectedRevision: number;
  readonly actualRevision: number;
}

/** A command's events were committed. */
export interface AppendedFacts extends CommandFacts {
  readonly tenant: string;
  readonly streamId: string;
  /** The stream's revision after the append. */
  readonly revision: number;
  /** The global position of each event written, in order. */
  readonly positions: readonly number[];
}

/** A command answered: its result (with `replayed` when a request id repeated) and how long it took. */
export interface CommandEnded {
  readonly result: CommandResult;
  readonly durationMs: number;
  readonly dryRun: boolean;
}

/**
 * What the pipeline tells whoever watches it. Metrics and tracing attach here from outside
 * (observability/), so the pipeline itself knows no metrics or tracing library. Every hook
 * is optional and called synchronously on the command's path: keep them cheap.
 */
export interface PipelineHooks {
  /**
   * Runs around each command, dry runs too; everything the command does, and the other
   * hooks, run inside `run`. A tracer opens the command's span here.
   */
  around?<T>(envelope: CommandEnvelope, run: () => Promise<T>): Promise<T>;
  /** The trace context to store in the command's events (W3C traceparent), when there is one. */
  traceparent?(): string | undefined;
  stage?(timing: StageTiming): void;
  conflicted?(conflict: ConflictFacts): void;
  retried?(retry: RetryFacts): void;
  appended?(appended: AppendedFacts): void;
  ended?(ended: CommandEnded): void;
}

/** A W3C traceparent: version, trace id, parent id, flags (www.w3.org/TR/trace-context). */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** `value` when it is a well-formed traceparent, else undefined: a caller's string is stored only in this shape. */
export function wellFormedTraceparent(value: unknown): string | undefined {
  return typeof value === "string" && TRACEPARENT.test(value) ? value : undefined;
}

/** No hooks: the pipeline's default. */
export const NO_HOOKS: PipelineHooks = Object.freeze({});

/** Runs a stage and reports its timing, whether it returned or threw. */
export async function timed<T>(hooks: PipelineHooks, stage: PipelineStage, facts: CommandFacts, run: () => Promise<T>): Promise<T> {
  if (!hooks.stage) return run();
  const startedAt = performance.timeOrigin + performance.now();
  try {
    return await run();
  } finally {
    report(hooks, stage, facts, startedAt);
  }
}

/** `timed` for a stage that does not wait. */
export function timedSync<T>(hooks: PipelineHooks, stage: PipelineStage, facts: CommandFacts, run: () => T): T {
  if (!hooks.stage) return run();
  const startedAt = performance.timeOrigin + performance.now();
  try {
    return run();
  } finally {
    report(hooks, stage, facts, startedAt);
  }
}

function report(hooks: PipelineHooks, stage: PipelineStage, facts: CommandFacts, startedAt: number): void {
  const durationMs = performance.timeOrigin + performance.now() - startedAt;
  hooks.stage!({ commandId: facts.commandId, commandType: facts.commandType, aggregateId: facts.aggregateId, stage, startedAt, durationMs });
}

/** A pipeline's execute with `around` and `ended` applied. */
export function observed(hooks: PipelineHooks, execute: (envelope: CommandEnvelope) => Promise<CommandResult>) {
  if (!hooks.around && !hooks.ended) return execute;
  const measured = async (envelope: CommandEnvelope): Promise<CommandResult> => {
    const started = performance.now();
    const result = await execute(envelope);
    hooks.ended?.({ result, durationMs: performance.now() - started, dryRun: envelope.dryRun === true });
    return result;
  };
  return hooks.around ? (envelope: CommandEnvelope) => hooks.around!(envelope, () => measured(envelope)) : measured;
}

/**
 * Several watchers as one: each hook calls every watcher's, `around` nests them (the first
 * outermost), `traceparent` takes the first answer.
 */
export function combineHooks(...all: readonly PipelineHooks[]): PipelineHooks {
  const each = <K extends "stage" | "conflicted" | "retried" | "appended" | "ended">(key: K) => {
    const fns = all.map((h) => h[key]).filter((f) => f !== undefined) as ((facts: never) => void)[];
    return fns.length === 0 ? undefined : (facts: never) => fns.forEach((f) => f(facts));
  };
  const arounds = all.filter((h) => h.around !== undefined);
  const traceparents = all.filter((h) => h.traceparent !== undefined);
  return {
    around:
      arounds.length === 0
        ? undefined
        : <T>(envelope: CommandEnvelope, run: () => Promise<T>) => arounds.reduceRight<() => Promise<T>>((inner, h) => () => h.around!(envelope, inner), run)(),
    traceparent: traceparents.length === 0 ? undefined : () => traceparents.reduce<string | undefined>((found, h) => found ?? h.traceparent!(), undefined),
    stage: each("stage"),
    conflicted: each("conflicted"),
    retried: each("retried"),
    appended: each("appended"),
    ended: each("ended"),
  };
}
