import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
// The same time-ordered ids the pipeline gives events, so the id index grows at its end here too.
import { v7 as uuidv7 } from "uuid";
import { migrate, useStoreSettings } from "../src/store/sqlite/schema.js";

/**
 * The storage ceiling: raw better-sqlite3 appends into Switchyard's own schema with the
 * store's own settings (WAL, page cache, synchronous=FULL), one PaymentRecorded-sized event
 * per append onto `streams` streams in turn, as the RecordPayment scenarios spread theirs.
 * Each append also writes the request record a command writes, under a random UUIDv4
 * request id as callers send them, with a result the size of a RecordPayment's: the same
 * essential work as a command's append. No revision reads, no JavaScript around the inserts.
 */
export function openRawCeiling(path: string, streams: number) {
  const db = new Database(path);
  useStoreSettings(db, "FULL");
  migrate(db);
  const insertEvent = db.prepare("INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const insertRequest = db.prepare(
    "INSERT INTO requests (tenant, request_id, command_type, aggregate_id, fingerprint, result, positions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const data = JSON.stringify({ bookingId: "B-1", paymentId: "P-1", amount: { amountMinor: 1, currency: "EUR" }, paidAt: "2026-01-01T00:00:00.000Z" });
  const metadata = JSON.stringify({
    commandId: uuidv7(),
    commandType: "booking.RecordPayment",
    requestId: randomUUID(),
    correlationId: randomUUID(),
    causationId: uuidv7(),
    userId: "local",
    tenant: "default",
    timestamp: new Date().toISOString(),
  });
  // A RecordPayment's stored result is ~400 bytes of JSON; its fingerprint a 43-character hash.
  const result = JSON.stringify({
    commandId: uuidv7(),
    commandType: "booking.RecordPayment",
    aggregateId: "B-1",
    correlationId: randomUUID(),
    replayed: false,
    status: "accepted",
    revision: 2,
    position: 0,
    events: [{ id: uuidv7(), type: "PaymentRecorded", revision: 2, position: 0 }],
    response: { outstandingMinor: 9999, duplicatePayment: false },
  });
  const fingerprint = "x".repeat(43);
  const revisions = new Array<number>(streams).fill(0);
  let next = 0;
  const appendInOneTransaction = db.transaction((count: number) => {
    const createdAt = new Date().toISOString();
    for (let i = 0; i < count; i++) {
      const stream = next++ % streams;
      const position = insertEvent.run("default", `raw-${stream}`, ++revisions[stream], uuidv7(), "PaymentRecorded", data, metadata).lastInsertRowid;
      insertRequest.run("default", randomUUID(), "booking.RecordPayment", `raw-${stream}`, fingerprint, result, `[${position}]`, createdAt);
    }
  });
  return {
    /** Appends `perTransaction` events per transaction for `seconds`. */
    measure(perTransaction: number, seconds: number) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      let appends = 0;
      while (performance.now() - started < seconds * 1000) {
        appendInOneTransaction(perTransaction);
        appends += perTransaction;
      }
      const used = process.cpuUsage(cpu);
      return { appends, elapsedMs: performance.now() - started, cpuUs: used.user + used.system };
    },
    close: () => db.close(),
  };
}
