// Subscriptions in `npm run bench` (and alone: `npm run bench:subscriptions`): catch-up reading
// against the raw read ceiling, on SQLite and PostgreSQL; live delivery latency with 1 and 100
// subscribers under a steady command rate; and what 100 idle subscribers cost the server.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { BookRoomRequestSchema } from "../src/gen/booking/v1/booking_pb.js";
import { SubscribeRequestSchema, SubscribeResponseSchema } from "../src/gen/switchyard/eventstore/v1/eventstore_pb.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { bookingProjections } from "../src/domain/booking/index.js";
import { storedCollectionOf } from "../src/read/field-values.js";
import { builtSettingOf, type EventStore } from "../src/store/event-store.js";
import { startTestPostgres } from "../test/support/postgres.js";
import { processStats, SERVER_NODE_OPTIONS, startServer, type BenchServer } from "./harness.js";

/** A catch-up server runs no async projection or reaction: they would read the seeded events beside the subscriber. */
const CATCH_UP_ONLY = { PROJECTIONS: "off", REACTIONS: "off" };

/** Events in the catch-up store (BENCH_CATCHUP_EVENTS). */
const CATCHUP_EVENTS = Number(process.env.BENCH_CATCHUP_EVENTS ?? 200_000);

/** What this part of the bench reports. */
export interface SubscriptionFigures {
  /** `events`: how many the subscriber read from the start of a CATCHUP_EVENTS store, within its time cap. */
  readonly catchUp: Array<{ store: string; events: number; rawPerSec: number; subscriberPerSec: number; ratio: number; serverCpuUsPerEvent: number }>;
  /** A bare grpc-js stream of pre-encoded messages of an event's size: what the transport alone allows. */
  readonly transportCeiling: { messages: number; perSec: number; serverCpuUsPerMessage: number };
  readonly live: Array<LiveFigures>;
  readonly idle: { subscribers: number; serverCpuUsPerSec: number; rssMbBefore: number; rssMbAfter: number };
}

// A booking's event as the service writes it, to fill the catch-up store with realistic rows.
const DATA = JSON.stringify({ bookingId: "B-000000", roomId: "R101", guestId: "guest-1", checkIn: "2030-01-01", checkOut: "2030-01-04", price: { amountMinor: 30000, currency: "EUR" } });
const metadataOf = (i: number) =>
  JSON.stringify({
    commandId: `01a24e2d-0000-7000-8000-${String(i).padStart(12, "0")}`,
    commandType: "booking.BookRoom",
    requestId: `seed-${i}`,
    correlationId: `seed-${i}`,
    causationId: `01a24e2d-0000-7000-8000-${String(i).padStart(12, "0")}`,
    userId: "local",
    tenant: "default",
    timestamp: "2026-12-01T00:00:00.000Z",
  });

/**
 * Marks the service's read models built on a store without events, then closes it: a server
 * started on the events seeded next has none to rebuild (this measures subscriptions).
 */
async function markReadModelsBuilt(store: EventStore): Promise<void> {
  for (const projection of bookingProjections) await store.sharedSetting!(builtSettingOf(storedCollectionOf(projection)), "yes");
  await store.close();
}

/** Fills an SQLite store file with `count` one-event streams, straight into its table. */
async function seedSqlite(path: string, count: number): Promise<void> {
  await markReadModelsBuilt(openSqliteStore({ path })); // also creates and migrates the file
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const insert = db.prepare("INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata) VALUES ('default', ?, 1, ?, 'RoomBooked', ?, ?)");
  const chunk = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insert.run(`booking-S${i}`, `seed-event-${i}`, DATA, metadataOf(i));
  });
  for (let from = 0; from < count; from += 100_000) chunk(from, Math.min(count, from + 100_000));
  db.close();
}

/** The raw read ceiling: the same rows, in the same pages, read with better-sqlite3 and nothing else. */
function rawSqliteRead(path: string): { events: number; perSec: number } {
  const db = new Database(path, { readonly: true });
  const page = db.prepare("SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE tenant = ? AND position >= ? ORDER BY position LIMIT 1000");
  const started = performance.now();
  let events = 0;
  for (let from = 1; ; ) {
    const rows = page.all("default", from) as Array<{ position: number }>;
    if (rows.length === 0) break;
    events += rows.length;
    from = rows[rows.length - 1].position + 1;
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return { events, perSec: Math.round(events / seconds) };
}

/** The raw read ceiling on PostgreSQL: the same rows in pages of 1,000 through pg. */
async function rawPostgresRead(url: string): Promise<{ events: number; perSec: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = performance.now();
  let events = 0;
  for (let from = 1; ; ) {
    const { rows } = await client.query({
      name: "raw_page",
      text: "SELECT position, stream_id, revision, id, type, data, metadata FROM events WHERE tenant = $1 AND position >= $2 ORDER BY position LIMIT 1000",
      values: ["default", from],
    });
    if (rows.length === 0) break;
    events += rows.length;
    from = Number(rows[rows.length - 1].position) + 1;
  }
  const seconds = (performance.now() - started) / 1000;
  await client.end();
  return { events, perSec: Math.round(events / seconds) };
}

/** A Subscribe stream whose messages are kept as bytes: `onMessage` gets each one. */
function openSubscription(client: grpc.Client, request: Parameters<typeof create<typeof SubscribeRequestSchema>>[1], onMessage: (bytes: Buffer) => void) {
  const call = client.makeServerStreamRequest(
    "/switchyard.eventstore.v1.EventStoreService/Subscribe",
    (m: unknown) => Buffer.from(toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, m as never))),
    (b: Buffer) => b,
    request,
  );
  call.on("data", onMessage);
  call.on("error", () => undefined);
  return call;
}

/** SubscribeResponse's first byte: the oneof field's tag. */
const EVENT_TAG = 0x0a;
const CAUGHT_UP_TAG = 0x1a;

/** Events per second one subscriber receives reading a whole store from the start, until caught_up. */
async function subscriberCatchUp(server: BenchServer, maxSeconds: number): Promise<{ events: number; perSec: number; cpuUsPerEvent: number; messageBytes: number }> {
  const client = new grpc.Client(server.address, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": 8 * 1024 * 1024 });
  let events = 0;
  let messageBytes = 0;
  const before = processStats(server.pid);
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const call = openSubscription(client, { start: { case: "fromStart", value: true } }, (bytes) => {
      if (bytes[0] === EVENT_TAG && events++ === 0) messageBytes = bytes.length;
      else if (bytes[0] === CAUGHT_UP_TAG) {
        clearTimeout(cap);
        call.cancel();
        resolve();
      }
    });
    // The rate is the figure: a slow catch-up of the whole store is cut short.
    const cap = setTimeout(() => {
      call.cancel();
      resolve();
    }, maxSeconds * 1000);
  });
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = processStats(server.pid).cpuUs - before.cpuUs;
  client.close();
  return { events, perSec: Math.round(events / seconds), cpuUsPerEvent: Math.round(cpuUs / Math.max(1, events)), messageBytes };
}

/** Messages per second a bare grpc-js server stream delivers (stream-ceiling.ts), in its own process like the service. */
async function transportCeiling(messages: number, messageBytes: number): Promise<SubscriptionFigures["transportCeiling"]> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "stream-ceiling.ts"), String(messageBytes)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => child.stdout!.once("data", (chunk) => resolve(Number(String(chunk).trim()))));
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const count = Buffer.alloc(4);
  count.writeUInt32BE(messages);
  const before = processStats(child.pid!);
  const started = performance.now();
  let received = 0;
  await new Promise<void>((resolve) => {
    const call = client.makeServerStreamRequest("/bench.v1.StreamCeiling/Stream", (b: Buffer) => b, (b: Buffer) => b, count);
    call.on("data", () => received++);
    call.on("end", () => resolve());
    call.on("error", () => resolve());
  });
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = processStats(child.pid!).cpuUs - before.cpuUs;
  client.close();
  child.kill();
  return { messages: received, perSec: Math.round(received / seconds), serverCpuUsPerMessage: Number((cpuUs / Math.max(1, received)).toFixed(1)) };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One live scenario's figures. */
export interface LiveFigures {
  readonly subscribers: number;
  readonly sampled: number;
  readonly ratePerSec: number;
  readonly commandsPerSec: number;
  /** From the event's timestamp (taken as its command is decided, just before the append) to its arrival. */
  readonly appendToDelivery: { p50Ms: number; p99Ms: number; maxMs: number };
  /** From the command's send to its event's arrival: the command's own time included. */
  readonly sendToDelivery: { p50Ms: number; p99Ms: number; maxMs: number };
  readonly delivered: number;
  readonly serverCpuPct: number;
}

/**
 * Live delivery: `subscribers` streams from now (ten to a connection), BookRoom at `rate` per
 * second for `seconds`. Every tenth subscriber decodes what it gets and times each event (the
 * others count bytes, so the client's decoding does not crowd the two cores): from its
 * timestamp, taken as its command is decided just before the append (same clock, whole
 * milliseconds), and from its command's send.
 */
async function liveLatency(server: BenchServer, subscribers: number, rate: number, seconds: number): Promise<LiveFigures> {
  const clients = Array.from({ length: Math.ceil(subscribers / 10) }, () => new grpc.Client(server.address, grpc.credentials.createInsecure()));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const fromAppend: number[] = [];
  let delivered = 0;
  let caughtUp = 0;
  const sampled = Array.from({ length: subscribers }, (_, i) => i % 10 === 0).filter(Boolean).length;
  await new Promise<void>((resolve) => {
    if (subscribers === 0) resolve();
    for (let i = 0; i < subscribers; i++) {
      const decode = i % 10 === 0;
      openSubscription(clients[Math.floor(i / 10)], { start: { case: "fromNow", value: true } }, (bytes) => {
        const now = performance.now();
        if (bytes[0] === CAUGHT_UP_TAG && ++caughtUp === subscribers) resolve();
        if (bytes[0] !== EVENT_TAG) return;
        delivered++;
        if (!decode) return;
        const wall = Date.now();
        const message = fromBinary(SubscribeResponseSchema, bytes);
        const metadata = message.message.case === "event" ? message.message.value.metadata : undefined;
        const sent = metadata === undefined ? undefined : sentAt.get(metadata.requestId);
        if (sent === undefined || metadata?.timestamp === undefined) return;
        latencies.push(now - sent);
        fromAppend.push(wall - (Number(metadata.timestamp.seconds) * 1000 + Math.floor(metadata.timestamp.nanos / 1e6)));
      });
    }
  });
  const commands = new grpc.Client(server.address, grpc.credentials.createInsecure());
  const tag = Math.random().toString(36).slice(2, 8);
  const before = processStats(server.pid);
  const started = performance.now();
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    for (; sent < due; sent++) {
      const requestId = `live-${tag}-${sent}`;
      const request = create(BookRoomRequestSchema, { bookingId: `L-${tag}-${sent}`, roomId: `L-${tag}-${sent}`, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", amount: "200.00", currency: "EUR", requestId });
      sentAt.set(requestId, performance.now());
      const call: Promise<void> = new Promise<void>((resolve) =>
        commands.makeUnaryRequest("/booking.v1.BookingService/BookRoom", (m: unknown) => Buffer.from(toBinary(BookRoomRequestSchema, m as never)), (b: Buffer) => b, request, () => resolve()),
      ).finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 500)); // the last events' delivery
  const after = processStats(server.pid);
  for (const client of [...clients, commands]) client.close();
  const round = (n: number) => Number(n.toFixed(2));
  const summary = (values: number[]) => {
    const sorted = values.sort((a, b) => a - b);
    return { p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.at(-1) ?? 0) };
  };
  return {
    subscribers,
    sampled,
    ratePerSec: rate,
    commandsPerSec: Math.round(sent / elapsed),
    appendToDelivery: summary(fromAppend),
    sendToDelivery: summary(latencies),
    delivered,
    serverCpuPct: Math.round(((after.cpuUs - before.cpuUs) / (elapsed * 1e6 + 5e5)) * 100),
  };
}

/** Waits until the server has been nearly idle (under 10% of a core) for half a second, at most 30 s. */
async function settled(server: BenchServer): Promise<void> {
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    const before = processStats(server.pid).cpuUs;
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (processStats(server.pid).cpuUs - before < 50_000) return;
  }
}

/** What `subscribers` idle subscriptions cost the server: CPU per second and RSS. */
async function idleCost(server: BenchServer, subscribers: number, seconds: number) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rssMbBefore = processStats(server.pid).rssMb;
  const clients = Array.from({ length: Math.ceil(subscribers / 10) }, () => new grpc.Client(server.address, grpc.credentials.createInsecure()));
  let caughtUp = 0;
  const calls: grpc.ClientReadableStream<Buffer>[] = [];
  await new Promise<void>((resolve) => {
    for (let i = 0; i < subscribers; i++) {
      calls.push(openSubscription(clients[Math.floor(i / 10)], { start: { case: "fromNow", value: true } }, (bytes) => {
        if (bytes[0] === CAUGHT_UP_TAG && ++caughtUp === subscribers) resolve();
      }));
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = processStats(server.pid);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = processStats(server.pid);
  for (const call of calls) call.cancel();
  for (const client of clients) client.close();
  return { subscribers, serverCpuUsPerSec: Math.round((after.cpuUs - before.cpuUs) / seconds), rssMbBefore: Number(rssMbBefore.toFixed(1)), rssMbAfter: Number(after.rssMb.toFixed(1)) };
}

/** Runs every subscription scenario and prints one line each. */
export async function subscriptionBench(seconds: number): Promise<SubscriptionFigures> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-subscriptions-"));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const catchUp: SubscriptionFigures["catchUp"] = [];
  /** Keeps and prints one store's catch-up against its raw read. */
  const recordCatchUp = (store: string, subscriber: Awaited<ReturnType<typeof subscriberCatchUp>>, raw: { perSec: number }) => {
    const ratio = Number((subscriber.perSec / raw.perSec).toFixed(2));
    catchUp.push({ store, events: subscriber.events, rawPerSec: raw.perSec, subscriberPerSec: subscriber.perSec, ratio, serverCpuUsPerEvent: subscriber.cpuUsPerEvent });
    out(`catch-up of ${subscriber.events} events on ${store}: subscriber ${subscriber.perSec}/s (server ${subscriber.cpuUsPerEvent} µs CPU an event), raw read ${raw.perSec}/s`);
  };
  try {
    const path = join(dir, "catch-up.db");
    await seedSqlite(path, CATCHUP_EVENTS);
    const raw = rawSqliteRead(path);
    const server = await startServer(path, { env: CATCH_UP_ONLY });
    let subscriber;
    try {
      subscriber = await subscriberCatchUp(server, seconds);
    } finally {
      await server.stop();
    }
    recordCatchUp("SQLite", subscriber, raw);
    const ceiling = await transportCeiling(Math.min(CATCHUP_EVENTS, 300_000), subscriber.messageBytes);
    out(`transport ceiling: a bare grpc-js stream of ${subscriber.messageBytes}-byte messages: ${ceiling.perSec}/s (server ${ceiling.serverCpuUsPerMessage} µs CPU a message)`);

    const postgres = await startTestPostgres();
    if ("skip" in postgres) out(`catch-up on PostgreSQL: skipped (${postgres.skip})`);
    else {
      try {
        const url = await postgres.postgres.database("bench_subscriptions");
        await markReadModelsBuilt(await openPostgresStore({ connectionString: url })); // also creates the schema
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(
          `INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata)
           SELECT 'default', 'booking-S' || g, 1, 'seed-event-' || g, 'RoomBooked', $1::json, replace($2, 'seed-0', 'seed-' || g)::json
           FROM generate_series(1, $3::int) g`,
          [DATA, metadataOf(0), CATCHUP_EVENTS],
        );
        await admin.query("VACUUM ANALYZE events");
        await admin.end();
        const pgRaw = await rawPostgresRead(url);
        const pgServer = await startServer(url, { env: CATCH_UP_ONLY });
        let pgSubscriber;
        try {
          pgSubscriber = await subscriberCatchUp(pgServer, seconds);
        } finally {
          await pgServer.stop();
        }
        recordCatchUp("PostgreSQL", pgSubscriber, pgRaw);
      } finally {
        await postgres.postgres.stop();
      }
    }

    const liveServer = await startServer(join(dir, "live.db"));
    try {
      // Idle first, on a server with nothing left to do.
      const idle = await idleCost(liveServer, 100, seconds / 2);
      out(`100 idle subscribers: server CPU ${idle.serverCpuUsPerSec} µs/s, RSS ${idle.rssMbBefore} → ${idle.rssMbAfter} MB`);
      const live: LiveFigures[] = [];
      // The heaviest last: a backlog it leaves cannot spill into another's figures. 1,000/s is
      // the rate issue 22 set, past what the service sustains here; at 25/s (two events each,
      // 5,000 messages a second to 100 subscribers) it keeps up.
      for (const [subscribers, rate] of [[1, 1000], [100, 25], [100, 1000]]) {
        const figures = await liveLatency(liveServer, subscribers, rate, seconds);
        live.push(figures);
        const a = figures.appendToDelivery;
        const b = figures.sendToDelivery;
        out(
          `live, ${subscribers} subscriber(s), BookRoom at ${figures.commandsPerSec}/s: append → delivered p50 ${a.p50Ms} / p99 ${a.p99Ms} ms, send → delivered p50 ${b.p50Ms} / p99 ${b.p99Ms} ms (${figures.sampled} sampled, ${figures.delivered} deliveries), server CPU ${figures.serverCpuPct}%`,
        );
        await settled(liveServer); // what is left of a backlog, before the next
      }
      return { catchUp, transportCeiling: ceiling, live, idle };
    } finally {
      await liveServer.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}` && process.env.BENCH_ONLY === "catch-up") {
  // One subscriber catching up on SQLite, for profiling the server (BENCH_SERVER_NODE_OPTIONS="--cpu-prof").
  const path = join(mkdtempSync(join(tmpdir(), "switchyard-catch-up-")), "catch-up.db");
  await seedSqlite(path, CATCHUP_EVENTS);
  const server = await startServer(path, { env: CATCH_UP_ONLY, nodeOptions: SERVER_NODE_OPTIONS });
  try {
    process.stdout.write(`${JSON.stringify(await subscriberCatchUp(server, Number(process.env.BENCH_SECONDS ?? 6)))}\n`);
  } finally {
    await server.stop();
  }
} else if (import.meta.url === `file://${process.argv[1]}` && process.env.BENCH_ONLY === "live") {
  const server = await startServer(join(mkdtempSync(join(tmpdir(), "switchyard-live-")), "live.db"), { nodeOptions: SERVER_NODE_OPTIONS });
  // BENCH_LIVE="subscribers:rate,…" picks the scenarios.
  const scenarios = (process.env.BENCH_LIVE ?? "0:1000,1:1000,100:25").split(",").map((pair) => pair.split(":").map(Number));
  for (const [n, rate] of scenarios) process.stdout.write(`${JSON.stringify(await liveLatency(server, n, rate, Number(process.env.BENCH_SECONDS ?? 6)))}\n`);
  await server.stop();
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await subscriptionBench(Number(process.env.BENCH_SECONDS ?? 6));
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
