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
