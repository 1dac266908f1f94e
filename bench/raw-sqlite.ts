import Database from "better-sqlite3";
// The same time-ordered ids the pipeline gives events, so the id index grows at its end here too.
import { v7 as uuidv7 } from "uuid";
import { migrate, useStoreSettings } from "../src/store/sqlite/schema.js";

/**
 * The storage ceiling: raw better-sqlite3 appends into Switchyard's own schema with the
 * store's own settings (WAL, page cache, synchronous=FULL), one PaymentRecorded-sized event
 * per append onto `streams` streams in turn, as the RecordPayment scenarios spread theirs.
 * No request records, no revision checks, no JavaScript around the insert.
 */
export function openRawCeiling(path: string, streams: number) {
  const db = new Database(path);
  useStoreSettings(db, "FULL");
  migrate(db);
  const insert = db.prepare("INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const data = JSON.stringify({ bookingId: "B-1", paymentId: "P-1", amount: { amountMinor: 1, currency: "EUR" }, paidAt: "2026-01-01T00:00:00.000Z" });
  const metadata = JSON.stringify({
    commandId: uuidv7(),
    commandType: "booking.RecordPayment",
    requestId: "pay-00000000-0",
    correlationId: "pay-00000000-0",
    causationId: uuidv7(),
    tenant: "default",
    timestamp: new Date().toISOString(),
  });
  const revisions = new Array<number>(streams).fill(0);
  let next = 0;
  const appendInOneTransaction = db.transaction((count: number) => {
    for (let i = 0; i < count; i++) {
      const stream = next++ % streams;
      insert.run("default", `raw-${stream}`, ++revisions[stream], uuidv7(), "PaymentRecorded", data, metadata);
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
