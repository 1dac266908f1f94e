import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { migrate } from "../src/store/sqlite/schema.js";

/** Raw better-sqlite3 appends into Switchyard's own schema with synchronous=FULL: the storage ceiling. */
export function rawAppendCeiling(path: string, seconds: number) {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  migrate(db);
  const insert = db.prepare("INSERT INTO events (tenant, stream_id, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const data = JSON.stringify({ bookingId: "B-1", paymentId: "P-1", amount: { amountMinor: 1, currency: "EUR" }, paidAt: "2026-01-01T00:00:00.000Z" });
  const metadata = JSON.stringify({ commandId: randomUUID(), commandType: "booking.RecordPayment", requestId: "r", correlationId: "r", causationId: "c", tenant: "default", timestamp: new Date().toISOString() });
  let stream = 0;
  const measure = (name: string, perTransaction: number) => {
    const append = db.transaction((count: number) => {
      for (let i = 0; i < count; i++) insert.run("default", `raw-${stream++}`, 1, randomUUID(), "PaymentRecorded", data, metadata);
    });
    const cpu = process.cpuUsage();
    const started = performance.now();
    let appends = 0;
    while (performance.now() - started < seconds * 1000) {
      append(perTransaction);
      appends += perTransaction;
    }
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { name, appends, perSec: Math.round((appends / elapsed) * 1000), cpuUsPerAppend: (used.user + used.system) / appends };
  };
  const results = [measure("raw SQLite append, 1 per transaction", 1), measure("raw SQLite append, 100 per transaction", 100)];
  db.close();
  return results;
}
