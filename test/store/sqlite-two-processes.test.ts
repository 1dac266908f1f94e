import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, it } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { bookingApp, bookRoomPayload } from "../support/booking-app.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "switchyard-2proc-"));
after(() => rmSync(dir, { recursive: true, force: true }));

it("two processes paying into the same bookings on one SQLite file lose nothing and keep revisions gapless", async () => {
  const path = join(dir, "shared.db");
  const bookings = ["B1", "B2", "B3"];
  const setup = bookingApp({ store: openSqliteStore({ path }) });
  for (const b of bookings) assert.equal((await setup.commands.bookRoom(bookRoomPayload(b, "1000000.00"))).status, "accepted");
  await setup.close();

  const worker = join(import.meta.dirname, "..", "fixtures", "payment-worker.ts");
  const outputs = await Promise.all(
    ["left", "right"].map((name) => run(process.execPath, ["--import", "tsx", worker, path, name, bookings.join(","), "60"])),
  );
  const reports = outputs.map((o) => JSON.parse(o.stdout) as { accepted: string[]; other: string[] });
  assert.deepEqual(reports.flatMap((r) => r.other), [], "every payment was accepted (conflicts were retried)");
  const acknowledged = new Set(reports.flatMap((r) => r.accepted.map((a) => a.split(":")[0])));
  assert.equal(acknowledged.size, 2 * bookings.length * 60);

  const store = openSqliteStore({ path });
  try {
    for (const b of bookings) {
      const events = await store.readStream("default", `booking-${b}`, { maxCount: 10_000 });
      assert.deepEqual(events.map((e) => e.revision), Array.from({ length: events.length }, (_, i) => i + 1), `${b} revisions are gapless`);
      const paid = events.filter((e) => e.type === "PaymentRecorded").map((e) => (e.data as { paymentId: string }).paymentId);
      assert.equal(new Set(paid).size, paid.length, `${b}: no payment recorded twice`);
      assert.deepEqual(paid.sort(), [...acknowledged].filter((p) => p.includes(`-${b}-`)).sort(), `${b}: every acknowledged payment is stored`);
    }
  } finally {
    await store.close();
  }
});

it("a process under steady load leaves another process on the same file its turns at the write lock", async () => {
  const path = join(dir, "fair.db");
  const app = bookingApp({ store: openSqliteStore({ path }) });
  // This process books new rooms with 64 commands always in flight, so its writer thread
  // commits batch after batch with no pause of its own.
  let writing = true;
  let booked = 0;
  const load = Promise.all(
    Array.from({ length: 64 }, async (_, lane) => {
      for (let i = 0; writing; i++) {
        const result = await app.commands.bookRoom(bookRoomPayload(`load-${lane}-${i}`));
        assert.equal(result.status, "accepted", JSON.stringify(result));
        booked++;
      }
    }),
  );
  load.catch(() => undefined); // awaited below; a refused booking fails the test there
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const worker = join(import.meta.dirname, "..", "fixtures", "paced-writer.ts");
    const output = await run(process.execPath, ["--import", "tsx", worker, path, "other", "2"]);
    const report = JSON.parse(output.stdout) as { waitsMs: number[]; other: string[] };
    const waits = [...report.waitsMs].sort((a, b) => a - b);
    const summary = `${waits.length} commands, waits p50 ${waits[waits.length >> 1]?.toFixed(1)} ms, max ${waits.at(-1)?.toFixed(1)} ms, ${booked} booked here meanwhile`;
    console.log(`the other process: ${summary}`);
    assert.deepEqual(report.other, [], "every command of the other process was accepted");
    // SQLite's write lock is not fair: its busy handler sleeps 1, 2, 5, ... up to 100 ms between
    // tries, and a writer that takes the lock again at once almost always wins. The writer
    // thread polls for the lock every 1 ms instead (whileBusy) and leaves gaps once it sees
    // another connection commit (turnTaking). Beside this load the other process made 49-55
    // commands (waits p50 12-14 ms) on a quiet machine and 17-23 with another core busy;
    // with SQLite's busy handler it made 32-45 and 9-22. Beside a raw better-sqlite3 loop
    // committing with no pause it made 121 in 2 s polling, and 4 in 2.5 s with the busy handler:
    // the floor fails a writer that keeps the lock, or one that never pauses beside a waiter
    // that sleeps through its commits.
    assert.ok(waits.length >= 10, `the other process got its turns: ${summary}`);
  } finally {
    writing = false;
    await load;
    await app.close();
  }
});
