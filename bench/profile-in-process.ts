// Profiles the in-process command path: `node --cpu-prof --import tsx bench/profile-in-process.ts`
// (INFLIGHT=1 for one command at a time; 64 by default).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bookingCommands } from "../src/domain/booking/index.js";
import { createApp } from "../src/pipeline/app.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { requestIdOf } from "./request-ids.js";

// DB=<file> runs on (and grows) a database kept between runs; by default a new one is made and removed.
const dir = process.env.DB ? undefined : mkdtempSync(join(tmpdir(), "switchyard-profile-"));
const path = process.env.DB ?? join(dir!, "p.db");
const store = openSqliteStore({ path, synchronous: (process.env.SYNC as "FULL" | "NORMAL") ?? "FULL" });
const app = createApp({ store, commands: bookingCommands });
const bookings = Array.from({ length: 1000 }, (_, i) => `B-${i}`);
await Promise.all(bookings.map((bookingId) => app.commands.bookRoom({ bookingId, roomId: bookingId, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "10000000.00", currency: "EUR" })));
const tag = Math.random().toString(36).slice(2, 8);
let n = 0;
const end = performance.now() + Number(process.env.SECONDS ?? 5) * 1000;
const cpu = process.cpuUsage();
await Promise.all(
  Array.from({ length: Number(process.env.INFLIGHT ?? 64) }, async () => {
    while (performance.now() < end) {
      const i = n++;
      await app.commands.recordPayment({ bookingId: bookings[i % 1000], paymentId: `P-${tag}-${i}`, amount: "0.01", currency: "EUR", paidAt: "2026-01-01T00:00:00Z" }, { requestId: requestIdOf(`r-${tag}`, i) });
    }
  }),
);
const used = process.cpuUsage(cpu);
process.stdout.write(`${n} commands (${Math.round(n / Number(process.env.SECONDS ?? 5))}/s), ${((used.user + used.system) / n).toFixed(1)} µs CPU each (user ${(used.user / n).toFixed(1)}, system ${(used.system / n).toFixed(1)})\n`);
await app.close();
if (dir) rmSync(dir, { recursive: true, force: true });
