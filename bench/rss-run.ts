// Runs N BookRoom commands in process (64 at a time, each on a new booking) and reports RSS
// at checkpoints, to show memory stays flat: nothing grows with the number of commands. Run
// with --expose-gc: after reading RSS, each checkpoint collects the heap in full and reads
// what is still alive, which garbage waiting for a collection cannot blur.
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
      const result = await app.execute({
        type: "booking.BookRoom",
        payload: { bookingId: `M-${i}`, roomId: `M-${i}`, guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "100.00", currency: "EUR" },
        metadata: { requestId: requestIdOf("m", i) },
      });
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
