import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ConsumerLag, LagBoard } from "../consumer/lag-board.js";
import type { CallEnded } from "../edge/call-lifecycle.js";
import { codeName } from "../edge/rpc-outcome.js";
import type { PipelineHooks } from "../pipeline/hooks.js";
import type { BatchCommitted } from "../store/group-commit.js";
import type { ScheduleCounts } from "../store/schedule-store.js";

/** Every metric's name starts with this. */
export const METRIC_PREFIX = "switchyard_";

/** A value a gauge reads at each scrape: one number, or one per label set. */
export type GaugeReading = number | readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[];

/** A gauge read when Prometheus scrapes, for parts that keep their own counts (schedules, dead letters). */
export interface ScrapedGauge {
  /** Must start with `switchyard_`. */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  readonly read: () => GaugeReading | Promise<GaugeReading>;
}

/** What a scrape answers: Prometheus text. */
export interface Scrape {
  readonly contentType: string;
  readonly body: string;
}

/**
 * Switchyard's Prometheus metrics, in a registry of their own (two services in one process,
 * as tests run them, do not share counters). The edge feeds `onCallEnd`, the pipeline
 * `pipelineHooks`, the store `onBatch`; other parts add gauges with `gauge` and
 * `registerConsumerLag`.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly onCallEnd: (ended: CallEnded) => void;
  readonly pipelineHooks: PipelineHooks;
  readonly onBatch: (batch: BatchCommitted) => void;
  /** Registers a gauge read at each scrape, e.g. `switchyard_schedules_due`; a read that fails shows NaN (a labelled gauge: no series), the rest of the scrape answers. */
  gauge(gauge: ScrapedGauge): void;
  /**
   * Registers a checkpointed consumer (an async projection, a reaction) by name: its lag is
   * read at each scrape into switchyard_consumer_lag_events{consumer} and
   * switchyard_consumer_lag_seconds{consumer} (NaN when the read fails). Returns a function
   * that removes it.
   */
  registerConsumerLag(consumer: string, read: () => ConsumerLag | Promise<ConsumerLag>): () => void;
  /** The open Subscribe streams and their lag, read at each scrape. */
  watchSubscriptions(board: LagBoard): void;
  /**
   * The scheduled commands due, overdue and the dead letters, read once per scrape into
   * switchyard_schedules_due, switchyard_schedules_overdue and switchyard_dead_letters.
   */
  watchSchedules(read: () => Promise<ScheduleCounts>): void;
  scrape(): Promise<Scrape>;
}

/** A consumer's lag when its read failed (the database could not be reached): unknown, and the scrape still answers. */
const UNREADABLE_LAG: ConsumerLag = { events: NaN, seconds: NaN };

/** Seconds buckets for RPCs, commands and their stages: 0.1 ms to 10 s. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Builds the metrics; `commandTypes` bounds the command_type label (anything else counts as "unknown"). */
export function createMetrics(options: { readonly commandTypes: Iterable<string> }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const known = new Set(options.commandTypes);
  const typeOf = (type: string) => (known.has(type) ? type : "unknown");

  const rpcs = new Counter({ name: "switchyard_rpcs_total", help: "RPCs finished, by service, method and status code.", labelNames: ["service", "method", "code"], registers: [registry] });
  const rpcSeconds = new Histogram({
    name: "switchyard_rpc_duration_seconds",
    help: "How long unary RPCs took, by service, method and status code (streams are not timed).",
    labelNames: ["service", "method", "code"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const commands = new Counter({ name: "switchyard_commands_total", help: "Commands answered, by type and outcome (the CommandResult status); dry runs not included.", labelNames: ["command_type", "outcome"], registers: [registry] });
  const dryRuns = new Counter({ name: "switchyard_dry_runs_total", help: "Dry runs answered, by command type and outcome.", labelNames: ["command_type", "outcome"], registers: [registry] });
  const commandSeconds = new Histogram({ name: "switchyard_command_duration_seconds", help: "How long commands took in the pipeline, by type.", labelNames: ["command_type"], buckets: LATENCY_BUCKETS, registers: [registry] });
  const stageSeconds = new Histogram({ name: "switchyard_command_stage_duration_seconds", help: "How long each pipeline stage took (validate, authorize, load, decide, append).", labelNames: ["stage"], buckets: LATENCY_BUCKETS, registers: [registry] });
  const replays = new Counter({ name: "switchyard_command_replays_total", help: "Commands answered from the stored result of an earlier call with the same request id.", labelNames: ["command_type"], registers: [registry] });
  const conflicts = new Counter({ name: "switchyard_revision_conflicts_total", help: "Appends that found the stream at another revision than the command was decided on.", labelNames: ["command_type"], registers: [registry] });
  const retries = new Counter({ name: "switchyard_command_retries_total", help: "Commands sent round again after a conflict or a request id taken meanwhile.", labelNames: ["command_type", "reason"], registers: [registry] });
  const appended = new Counter({ name: "switchyard_events_appended_total", help: "Events committed, by the type of the command that wrote them.", labelNames: ["command_type"], registers: [registry] });
  const batchSize = new Histogram({ name: "switchyard_store_batch_appends", help: "Appends that shared one group-commit transaction.", buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [registry] });
  const batchSeconds = new Histogram({ name: "switchyard_store_append_duration_seconds", help: "How long the store took to commit one group-commit batch.", buckets: LATENCY_BUCKETS, registers: [registry] });
  const batchFailures = new Counter({ name: "switchyard_store_batch_failures_total", help: "Group-commit transactions that failed as a whole.", registers: [registry] });

  const consumers = new Map<string, () => ConsumerLag | Promise<ConsumerLag>>();
  /** One read of every consumer per scrape, shared by the two gauges that show it. */
  const readConsumers = oncePerScrape(async () => new Map(await Promise.all([...consumers].map(async ([name, read]) => [name, await Promise.resolve().then(read).catch(() => UNREADABLE_LAG)] as const))));
  for (const [unit, pick] of [
    ["events", (lag: ConsumerLag) => lag.events],
    ["seconds", (lag: ConsumerLag) => lag.seconds],
  ] as const) {
    new Gauge({
      name: `switchyard_consumer_lag_${unit}`,
      help: `How far each checkpointed consumer (async projection, reaction) is behind the head, in ${unit}${unit === "seconds" ? " (the age of the first event it has not committed; 0 when caught up)" : ""}. A reaction's checkpoint passes the events it does not handle only at its next idle checkpoint (after 1 s).`,
      labelNames: ["consumer"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [name, lag] of await readConsumers()) this.set({ consumer: name }, pick(lag));
      },
    });
  }

  function gauge({ name, help, labelNames = [], read }: ScrapedGauge): void {
    if (!name.startsWith(METRIC_PREFIX)) throw new Error(`metric ${name} must start with ${METRIC_PREFIX}`);
    new Gauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      async collect() {
        let reading: GaugeReading;
        try {
          reading = await read();
        } catch {
          // The scrape still answers: this gauge alone is unknown (a labelled one is left out).
          this.reset();
          if (labelNames.length === 0) this.set(NaN);
          return;
        }
        if (typeof reading === "number") return void this.set(reading);
        this.reset();
        for (const { labels, value } of reading) this.set(labels, value);
      },
    });
  }

  return {
    registry,
    onCallEnd(ended) {
      const slash = ended.method.lastIndexOf("/");
      const labels = { service: ended.method.slice(1, slash), method: ended.method.slice(slash + 1), code: codeName(ended.code) };
      rpcs.inc(labels);
      if (!ended.streaming) rpcSeconds.observe(labels, ended.durationMs / 1000);
    },
    pipelineHooks: {
      stage: (timing) => stageSeconds.observe({ stage: timing.stage }, timing.durationMs / 1000),
      conflicted: (conflict) => conflicts.inc({ command_type: typeOf(conflict.commandType) }),
      retried: (retry) => retries.inc({ command_type: typeOf(retry.commandType), reason: retry.reason }),
      appended: (facts) => appended.inc({ command_type: typeOf(facts.commandType) }, facts.positions.length),
      ended: ({ result, durationMs, dryRun }) => {
        const type = typeOf(result.commandType);
        if (dryRun) return void dryRuns.inc({ command_type: type, outcome: result.status });
        commands.inc({ command_type: type, outcome: result.status });
        commandSeconds.observe({ command_type: type }, durationMs / 1000);
        if (result.replayed) replays.inc({ command_type: type });
      },
    },
    onBatch(batch) {
      batchSize.observe(batch.appends);
      batchSeconds.observe(batch.durationMs / 1000);
      if (!batch.committed) batchFailures.inc();
    },
    gauge,
    registerConsumerLag(consumer, read) {
      if (consumers.has(consumer)) throw new Error(`consumer ${consumer} is registered already`);
      consumers.set(consumer, read);
      return () => consumers.delete(consumer);
    },
    watchSubscriptions(board) {
      gauge({ name: "switchyard_subscriptions_open", help: "Subscribe streams open in this process.", read: () => board.open });
      gauge({ name: "switchyard_subscription_lag_events", help: "The most events any open Subscribe stream is behind the head.", read: () => board.worst().events });
      gauge({ name: "switchyard_subscription_lag_seconds", help: "The longest any open Subscribe stream has been behind the head, in seconds.", read: () => board.worst().seconds });
    },
    watchSchedules(read) {
      const counts = oncePerScrape(read);
      gauge({ name: "switchyard_schedules_due", help: "Scheduled commands waiting to run whose time has come, over every tenant.", read: async () => (await counts()).due });
      gauge({ name: "switchyard_schedules_overdue", help: "Scheduled commands waiting to run more than 1 s after their time, over every tenant.", read: async () => (await counts()).overdue });
      gauge({ name: "switchyard_dead_letters", help: "Dead letters (commands given up on) not yet retried or discarded, over every tenant.", read: async () => (await counts()).deadLetters });
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/**
 * Shares one read among the gauges a scrape collects together (prom-client collects them at
 * once): a call while a read is under way gets its answer, a later call reads again.
 */
function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= read().finally(() => {
      pending = undefined;
    }));
}
