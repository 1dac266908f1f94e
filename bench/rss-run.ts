// Runs N commands in process (64 at a time) and reports RSS at checkpoints, to show memory
// stays flat: nothing grows with the number of commands. One command in ten books a new
// room (two new streams), the others pay into a booking made a thousand commands earlier:
// a million commands make 200,000 streams, at about the cost of RecordPayments, so the run
// fits beside the rest of `npm run bench`. Run with --expose-gc: after reading RSS, each
// checkpoint collects the heap in full and reads what is still alive, which garbage waiting
// for a collection cannot blur.
import { bookingCommands } from "../src/domain/booking/index.js";
import { createApp } from "../src/pipeline/app.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { requestIdOf } from "./request-ids.js";

const [database, totalText] = process.argv.slice(2);
const total = Number(totalText);
const app = createApp({ store: openSqliteStore({ path: database, synchronous: "NORMAL" }), commands: bookingCommands });
const checkpoints: Array<{ commands: number; rssMb: number; liveHeapMb: number }> = [];
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? failWithoutGc;
const megabytes = (bytes: number) => Number((bytes / 1048576).toFixed(1));

function failWithoutGc(): never {
  throw new Error("rss-run.ts needs node --expose-gc to read the live heap");
}
const marks = new Set([100_000, Math.round(total / 2), total].filter((m) => m <= total));
let next = 0;
let done = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: 64 }, async () => {
    while (next < total) {
      const i = next++;
      const group = Math.floor(i / 10);
      const book = i % 10 === 0 || group < 100;
      const bookingId = i % 10 === 0 ? `M-${group}` : `M-${group - 100}`;
      const result = await app.execute(
        book
          ? {
              type: "booking.BookRoom",
              payload: { bookingId: i % 10 === 0 ? bookingId : `E-${i}`, roomId: i % 10 === 0 ? bookingId : `E-${i}`, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "100.00", currency: "EUR" },
              metadata: { requestId: requestIdOf("m", i) },
            }
          : {
              type: "booking.RecordPayment",
              payload: { bookingId, paymentId: `p-${i}`, amount: "0.01", currency: "EUR", paidAt: "2026-01-01T00:00:00Z" },
              metadata: { requestId: requestIdOf("m", i) },
            },
      );
      if (result.status !== "accepted") throw new Error(`command ${i}: ${result.status}`);
      done++;
      if (marks.has(done)) {
        const rss = process.memoryUsage.rss();
        collectGarbage();
        checkpoints.push({ commands: done, rssMb: megabytes(rss), liveHeapMb: megabytes(process.memoryUsage().heapUsed) });
      }
    }
  }),
);
await app.close();
process.stdout.write(JSON.stringify({ checkpoints, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) }) + "\n");
