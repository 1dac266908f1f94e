import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { BOOKING_SETTINGS_PORT, bookingCommands, bookingProjections } from "./domain/booking/index.js";
import { systemCollaborators } from "./kernel/collaborators.js";
import { startScheduler, type Scheduler } from "./scheduler/scheduler.js";
import { pageTokens } from "./edge/signed-page-token.js";
import type { ScheduleCounts } from "./store/schedule-store.js";
import { createAuthenticator } from "./edge/auth.js";
import { createCallLifecycle } from "./edge/call-lifecycle.js";
import { connectRoutes } from "./edge/connect-routes.js";
import { createDrain } from "./edge/drain.js";
import { explorerAssets } from "./edge/explorer-assets.js";
import { startGrpcServer } from "./edge/grpc-server.js";
import { startHttpServer } from "./edge/http-server.js";
import { limitsOf } from "./edge/limits.js";
import { createHealth, ServingStatus } from "./edge/health.js";
import { addReflection, reflectionRoutes } from "./edge/reflection.js";
import { createApp } from "./pipeline/app.js";
import { largestReadableEvent } from "./services/eventstore-v1/handlers.js";
import { edgeServices } from "./services/index.js";
import type { EdgeService } from "./edge/edge-service.js";
import type { EventStore } from "./store/event-store.js";
import { openStore } from "./store/open-store.js";
import { createLagBoard } from "./consumer/lag-board.js";
import { metricsEndpoint } from "./edge/metrics-endpoint.js";
import { checkpointLag } from "./observability/checkpoint-lag.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { consumerNameOf } from "./read/read-service.js";
import { startTraceExport } from "./observability/trace-export.js";
import { createTracing } from "./observability/tracing.js";
import { combineHooks } from "./pipeline/hooks.js";
import { guestNotifierOf } from "./collaborators/guest-notifier.js";
import { bookingReactions } from "./domain/booking/index.js";
import { startReactions } from "./reactions/start-reactions.js";

/** A running Switchyard: both ports bound, the store open. */
export interface RunningService {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** This process's Prometheus metrics (GET /metrics); parts started later add their gauges here. */
  readonly metrics: Metrics;
  /**
   * Scheduled commands due, overdue and dead letters (all tenants), as GET /metrics shows them;
   * read from the database whether or not this process runs the scheduler, zeros when the
   * store keeps no schedules.
   */
  scheduleCounts(): Promise<ScheduleCounts>;
  /** Drains (health NOT_SERVING, new calls UNAVAILABLE), finishes in-flight calls, closes the store. */
  stop(): Promise<void>;
}

/** What a caller may add to the configured service. */
export interface ServiceExtras {
  /** More edge services to serve (the benchmark's echo). */
  readonly services?: readonly EdgeService[];
  /** An open store to use instead of the one DATABASE_URL names (tests reach its writer thread through it); closed on stop. */
  readonly store?: EventStore;
}

/** Opens the store and serves the booking domain on the gRPC and HTTP ports. */
export async function startService(config: Config, logger: Logger, extra: ServiceExtras = {}): Promise<RunningService> {
  const metrics = createMetrics({ commandTypes: bookingCommands.map((c) => c.type) });
  const store =
    extra.store ??
    (await openStore(config, {
      onPruningFailure: (failure) => {
        if (failure) logger.error({ reason: failure }, "expired request records cannot be deleted; they are kept until they can");
        else logger.info("expired request records are deleted again");
      },
      onBatch: metrics.onBatch,
    }));
  // Serve once commands can be written: a fresh writer thread takes ~0.25 s to start, which
  // the first commands would otherwise wait out.
  try {
    await store.ready?.();
  } catch (error) {
    await store.close();
    throw error;
  }
  const traceExport = await startTraceExport(config);
  const tracing = createTracing();
  const collaborators = { ...systemCollaborators, ports: { [BOOKING_SETTINGS_PORT]: { unpaidBookingTtlMs: config.UNPAID_BOOKING_TTL } } };
  const app = createApp({
    store,
    commands: bookingCommands,
    collaborators,
    stateCacheChars: Math.floor(config.STATE_CACHE_MB * 2 ** 20),
    onFailure: (errorId, error, envelope) => logger.error({ err: error, errorId, commandType: envelope.type }, "command failed"),
    maxEventChars: largestReadableEvent(config.MAX_MESSAGE_BYTES),
    hooks: combineHooks(tracing.pipelineHooks, metrics.pipelineHooks),
    projections: bookingProjections,
    runAsyncProjections: config.PROJECTIONS === "on",
    onProjectionError: (error) => logger.error({ err: error }, "async projection failed; it is tried again"),
  });
  const subscriptions = createLagBoard(() => app.feed.head);
  metrics.watchSubscriptions(subscriptions);
  const reactions = config.REACTIONS === "off" ? undefined : startReactions(config, { app, reactions: bookingReactions, ports: { guestNotifier: guestNotifierOf(config, logger) }, logger, clock: collaborators.clock });
  const scheduler = schedulerOf(config, store, app.execute, logger);
  const scheduleCounts = () => store.schedules?.counts(collaborators.clock().getTime()) ?? Promise.resolve({ due: 0, overdue: 0, deadLetters: 0 });
  metrics.watchSchedules(scheduleCounts);
  watchConsumerLag(metrics, store, collaborators.clock);
  const limits = limitsOf(config);
  const scheduling = store.schedules && { schedules: store.schedules, clock: collaborators.clock, pageTokens: pageTokens(config.PAGE_TOKEN_SECRET), wake: scheduler?.wake };
  const domainServices = [...edgeServices(app, limits, { subscriptions, scheduling }), ...(extra.services ?? [])];
  const drain = createDrain();
  const health = createHealth(["", ...domainServices.map((s) => s.service.typeName)]);
  const services = [...domainServices, health.service];
  // A store that cannot write (SQLite's writer thread stopped and is being replaced, the
  // PostgreSQL server cannot be reached) makes the service NOT_SERVING until it can again,
  // so balancers send commands elsewhere meanwhile.
  const unwatch = store.watchAvailability?.((change) => {
    if (change.available) logger.info("event store writes again");
    else logger.error({ reason: change.reason }, "event store cannot write");
    if (!drain.draining) health.setAll(change.available ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  });
  const authenticate = createAuthenticator(config);
  const lifecycle = createCallLifecycle({
    authenticate,
    drain,
    logger,
    maxDeadlineMs: limits.maxDeadlineMs,
    onCallEnd: metrics.onCallEnd,
    watchCall: tracing.watchCall,
  });
  const tls = tlsFiles(config);

  const grpcServer = await startGrpcServer({
    services,
    lifecycle,
    host: config.HOST,
    port: config.GRPC_PORT,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    keepalive: { timeMs: config.KEEPALIVE_TIME_MS, timeoutMs: config.KEEPALIVE_TIMEOUT_MS },
    credentials: tls && grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], Boolean(tls.ca)),
    extra: (server) => {
      if (config.REFLECTION === "on") addReflection(server, services.map((s) => s.service));
    },
  });
  const httpServer = await startHttpServer({
    host: config.HOST,
    port: config.HTTP_PORT,
    routes: (router) => {
      connectRoutes({ services, lifecycle })(router);
      if (config.REFLECTION === "on") reflectionRoutes(services.map((s) => s.service))(router);
    },
    readMaxBytes: config.MAX_MESSAGE_BYTES,
    isDraining: () => drain.draining,
    keepalive: { timeMs: config.KEEPALIVE_TIME_MS, timeoutMs: config.KEEPALIVE_TIMEOUT_MS },
    probes: { live: () => true, ready: () => health.serving && !drain.draining },
    plainHttp: [
      metricsEndpoint({ scrape: metrics.scrape, authenticate: config.METRICS_PUBLIC ? undefined : authenticate }),
      ...(config.EXPLORER === "on" ? [explorerAssets({ onBuildFailure: (error) => logger.error({ err: error }, "the explorer page could not be built") }).answer] : []),
    ],
    tls,
  });

  let stopping: Promise<void> | undefined;
  return {
    grpcPort: grpcServer.port,
    httpPort: httpServer.port,
    metrics,
    scheduleCounts,
    stop: () =>
      (stopping ??= (async () => {
        unwatch?.();
        health.setAll(ServingStatus.NOT_SERVING);
        // No scheduled command starts once draining begins; the ones running finish first.
        await scheduler?.stop();
        const finished = await drain.drain(config.SHUTDOWN_TIMEOUT_MS);
        logger.info({ inFlight: drain.inFlight, finished }, "drained");
        await Promise.all([grpcServer.close(1000), httpServer.close(1000)]);
        await reactions?.stop();
        // Stops the async projections' runners, then closes the store.
        await app.close();
        await traceExport?.shutdown().catch((error: unknown) => logger.warn({ err: error }, "the last spans could not be exported"));
      })()),
  };
}

/**
 * Registers the lag of every checkpointed consumer the booking domain declares (its async
 * projections and its reactions), read from the consumers table: whichever process or
 * replica runs one, each shows the same lag, and a consumer no process runs shows it growing.
 */
function watchConsumerLag(metrics: Metrics, store: EventStore, clock: () => Date): void {
  if (!store.consumerCheckpoint) return;
  const consumers = [...bookingProjections.filter((p) => p.mode === "async").map(consumerNameOf), ...bookingReactions.map((r) => r.name)];
  for (const consumer of consumers) metrics.registerConsumerLag(consumer, checkpointLag(store, consumer, clock));
}

/** The scheduler of this process, when SCHEDULER=on and the store keeps schedules. */
function schedulerOf(config: Config, store: EventStore, execute: Parameters<typeof startScheduler>[0]["execute"], logger: Logger): Scheduler | undefined {
  if (config.SCHEDULER !== "on" || !store.schedules) return undefined;
  return startScheduler({
    schedules: store.schedules,
    execute,
    clock: systemCollaborators.clock,
    watchCommits: store.watchCommits,
    leaseMs: config.SCHEDULER_LEASE_MS,
    maxAttempts: config.SCHEDULER_MAX_ATTEMPTS,
    retryFirstMs: config.SCHEDULER_RETRY_FIRST_MS,
    retryMaxMs: config.SCHEDULER_RETRY_MAX_MS,
    onRun: (schedule, ending, latenessMs) => {
      if (ending === "dead") logger.error({ scheduleId: schedule.id, commandType: schedule.commandType, attempts: schedule.attempts }, "scheduled command became a dead letter");
      else logger.debug({ scheduleId: schedule.id, commandType: schedule.commandType, ending, latenessMs }, "scheduled command ran");
    },
    onError: (error) => logger.warn({ err: error }, "scheduled commands cannot be read or written; trying again shortly"),
  });
}

/** The TLS material the configuration names, read once; undefined for cleartext. */
function tlsFiles(config: Config): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) return undefined;
  return {
    cert: readFileSync(config.TLS_CERT_FILE),
    key: readFileSync(config.TLS_KEY_FILE),
    ca: config.TLS_CLIENT_CA_FILE ? readFileSync(config.TLS_CLIENT_CA_FILE) : undefined,
  };
}
