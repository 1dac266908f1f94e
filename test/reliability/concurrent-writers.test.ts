// Concurrent writers: two server processes on one SQLite file, and two on one PostgreSQL
// database, 24 clients paying into the same few bookings through both. Every booking's paid total equals the sum of the
// acknowledged payments, revisions are gapless, and a conflict is either retried inside the
// server or answered ABORTED having written nothing: no lost update.
import assert from "node:assert/strict";
import { join } from "node:path";
import { it, type TestContext } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { auditCommands, auditStore, bookCommand, clientsFor, launch, payCommand, pool, readDatabase, readPostgres, readStream, send, sendTracked, type Stored, type Tracked, scratch } from "../fixtures/reliability-harness.js";
import { itOnPostgres } from "../support/postgres.js";
import { reliabilityRow } from "../support/reliability.js";

const { dir, running: servers } = scratch("switchyard-writers-");

const BOOKINGS = 3;
const CLIENTS = 24;
const PAYMENTS_PER_CLIENT = 30;

/** Where the two servers keep their events, and how the test reads them back. */
interface SharedStore {
  readonly name: string;
  readonly databaseUrl: string;
  read(): Promise<Stored>;
}

it("two servers on one SQLite file: paid totals equal the acknowledged payments, revisions gapless, ABORTED writes nothing", async (t) => {
  const path = join(dir, "shared.db");
  await twoServers(t, { name: "one SQLite file", databaseUrl: `file:${path}`, read: async () => readDatabase(path) });
});

itOnPostgres("two servers on one PostgreSQL database: paid totals equal the acknowledged payments, revisions gapless, ABORTED writes nothing", "writers", (url, t) =>
  twoServers(t, { name: "one PostgreSQL database", databaseUrl: url, read: () => readPostgres(url) }),
);

async function twoServers(t: TestContext, store: SharedStore): Promise<void> {
  const env = { DATABASE_URL: store.databaseUrl };
  const left = launch(env);
  servers.push(left);
  const leftAddress = (await left.listening).grpcAddress;
  const right = launch(env);
  servers.push(right);
  const rightAddress = (await right.listening).grpcAddress;

  const setup = clientsFor(leftAddress);
  const bookings = Array.from({ length: BOOKINGS }, (_, i) => bookCommand(`shared-${i}`, 1_000_000_000));
  await pool(bookings, BOOKINGS, (c) => sendTracked(setup, c));
  assert.deepEqual(bookings.filter((c) => !c.ack).map((c) => c.requestId), []);

  // Each client has its own connection, half to each server; amounts differ so a lost or
  // doubled payment shows in the totals. The clients go in rounds: each sends its i-th payment
  // and all wait for the round to finish. Without the rounds, the server that served the set-up
  // could finish its half before the other (cold: its first call took ~150 ms against ~9) had
  // answered one, and the two never contended; in a round both servers always have payments to
  // the same bookings in flight at once.
  const payments: Tracked[] = [];
  const via = new Map<string, number>();
  const connections = Array.from({ length: CLIENTS }, (_, k) => clientsFor(k % 2 === 0 ? leftAddress : rightAddress, { ownConnection: true }));
  for (let i = 0; i < PAYMENTS_PER_CLIENT; i++) {
    await Promise.all(
      connections.map(async (clients, k) => {
        const booking = bookings[(k + i) % BOOKINGS];
        const c = payCommand(booking.bookingId, `c${k}-${i}`, 1 + ((k * 31 + i * 7) % 500));
        payments.push(c);
        via.set(c.requestId, k % 2);
        await sendTracked(clients, c, 30_000);
      }),
    );
  }
  for (const clients of connections) clients.close();

  const acknowledged = payments.filter((c) => c.ack);
  const aborted = payments.filter((c) => c.failure?.code === grpc.status.ABORTED);
  const unavailable = payments.filter((c) => c.failure?.code === grpc.status.UNAVAILABLE);
  const wrong = payments.filter((c) => c.failure && c.failure.code !== grpc.status.ABORTED && c.failure.code !== grpc.status.UNAVAILABLE);

  const problems: string[] = [];
  const stored = await store.read();
  problems.push(...auditStore(stored));
  const audit = auditCommands(stored, [...bookings, ...payments]);
  problems.push(...audit.problems);
  for (const c of [...aborted, ...unavailable]) {
    if (stored.requests.has(c.requestId) || stored.byRequest.has(c.requestId)) problems.push(`${c.requestId}: answered ${grpc.status[c.failure!.code]} but wrote`);
    if (c.failure!.code === grpc.status.ABORTED && c.failure!.errorInfo?.reason !== "REVISION_CONFLICT") problems.push(`${c.requestId}: ABORTED without REVISION_CONFLICT`);
  }

  // An ABORTED payment wrote nothing, so retrying it with its request id applies it now.
  const retry = clientsFor(rightAddress);
  for (const c of aborted) {
    for (let attempt = 0; attempt < 10 && !c.retried; attempt++) {
      try {
        c.retried = await send(retry, c, 10_000);
      } catch (error) {
        if ((error as { code?: number }).code !== grpc.status.ABORTED) throw error;
      }
    }
    if (!c.retried || c.retried.replayed) problems.push(`${c.requestId}: ABORTED, then the retry answered ${c.retried ? "replayed" : "nothing"}`);
    else acknowledged.push(c);
  }
  retry.close();

  // Through each server: the booking's paid total and payment ids are exactly the acknowledged ones.
  let lostUpdates = 0;
  let interleavings = 0;
  const readers = [clientsFor(leftAddress), clientsFor(rightAddress)];
  for (const booking of bookings) {
    const mine = acknowledged.filter((c) => c.bookingId === booking.bookingId);
    const expectedMinor = mine.reduce((sum, c) => sum + c.amountMinor, 0);
    const views = await Promise.all(readers.map((r) => r.booking.getBooking({ bookingId: booking.bookingId }, { deadlineMs: 10_000 })));
    for (const [side, view] of views.entries()) {
      const paidMinor = Math.round(Number(view.paid) * 100);
      if (paidMinor !== expectedMinor) {
        lostUpdates++;
        problems.push(`${booking.bookingId} via ${side === 0 ? "left" : "right"}: paid ${view.paid}, acknowledged ${expectedMinor / 100}`);
      }
      if ([...view.paymentIds].sort().join() !== mine.map((c) => c.paymentId).sort().join()) problems.push(`${booking.bookingId}: payment ids differ from the acknowledged ones`);
    }
    const events = await readStream(readers[0], booking.bookingId);
    const revisions = events.map((e) => Number(e.revision));
    // Both servers wrote to this stream, interleaved: the contention was real.
    const sides = events.map((e) => via.get(e.metadata?.requestId ?? "")).filter((s) => s !== undefined);
    interleavings += sides.filter((s, i) => i > 0 && s !== sides[i - 1]).length;
    if (revisions.some((r, i) => r !== i + 1)) problems.push(`${booking.bookingId}: revisions not gapless`);
    if (views.some((v) => Number(v.revision) !== revisions.length)) problems.push(`${booking.bookingId}: the servers disagree on the revision`);
  }
  for (const r of readers) r.close();
  setup.close();

  t.diagnostic(
    reliabilityRow({
      scenario: `two servers, ${store.name}, 24 clients on 3 bookings`,
      callsTried: payments.length,
      failures: problems.length + wrong.length,
      dataLost: audit.lost + lostUpdates,
      note: `${acknowledged.length} acknowledged, ${aborted.length} ABORTED, ${unavailable.length} UNAVAILABLE (none wrote; ABORTED retried → applied once); ${interleavings} switches between servers within streams; ${lostUpdates === 0 ? "totals equal acknowledged sums" : `${lostUpdates} totals differ`}`,
    }),
  );
  assert.deepEqual(wrong.map((c) => `${c.requestId}: ${grpc.status[c.failure!.code]} ${c.failure!.message}`), [], "only ABORTED or UNAVAILABLE besides OK");
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problem(s)`);
  assert.equal(audit.lost + lostUpdates, 0);
  assert.ok(acknowledged.length >= payments.length / 2, `most payments were acknowledged (${acknowledged.length}/${payments.length})`);
  // Every round has both servers writing to every booking, so each stream switches at least once a round.
  assert.ok(interleavings >= PAYMENTS_PER_CLIENT, `both servers wrote to the same streams, interleaved (${interleavings} switches)`);
  await Promise.all([left.kill("SIGTERM"), right.kill("SIGTERM")]);
}
