// SIGKILL in the middle of a scheduled run: after its command committed, before the run was
// recorded. The next runner (a real server on the same file) claims it once the lease runs
// out, runs it under the same request id, gets the first run's answer back, and the command's
// events exist once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { systemCollaborators } from "../../src/kernel/collaborators.js";
import { BOOKING_SETTINGS_PORT, bookingCommands } from "../../src/domain/booking/index.js";
import { createApp } from "../../src/pipeline/app.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { eventually } from "../support/eventually.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const ROOT = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "switchyard-scheduled-crash-"));
let server: ServerProcess | undefined;
after(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const LEASE_MS = 1500;

it("a scheduled run killed after its command committed is finished by the next runner without running the command twice", async () => {
  const path = join(dir, "crash.db");
  // A booking whose CancelUnpaidBooking is due at once.
  const setup = openSqliteStore({ path });
  const ports = { [BOOKING_SETTINGS_PORT]: { unpaidBookingTtlMs: 0 } };
  const app = createApp({ store: setup, commands: bookingCommands, collaborators: { ...systemCollaborators, ports } });
  const booked = await app.execute({
    type: "booking.BookRoom",
    payload: { bookingId: "K1", roomId: "R1", guestId: "G1", checkIn: "2030-01-01", checkOut: "2030-01-03", price: "100.00", currency: "EUR" },
  });
  assert.equal(booked.status, "accepted");
  await setup.close();

  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test", "fixtures", "scheduled-run-crash.ts"), path, String(LEASE_MS)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("exit", (c, s) => resolve([c, s])));
  assert.equal(signal, "SIGKILL", `the runner was killed (exit ${code}): ${output}`);
  assert.match(output, /ran booking\.CancelUnpaidBooking accepted/);

  const reader = openSqliteStore({ path });
  try {
    const afterCrash = await reader.schedules!.list("default", { statuses: ["pending", "done"], limit: 10 });
    assert.deepEqual(afterCrash.map((s) => [s.status, s.attempts]), [["pending", 1]], "the crash left the run unrecorded");
    assert.deepEqual((await reader.readStream("default", "booking-K1")).map((e) => e.type), ["RoomBooked", "BookingCancelled"]);

    server = await startServerProcess({ DATABASE_URL: `file:${path}` }, 60_000);
    await eventually("the next runner records the run", async () => (await reader.schedules!.list("default", { statuses: ["done"], limit: 10 })).length === 1, 20_000);
    const [done] = await reader.schedules!.list("default", { statuses: ["done"], limit: 10 });
    assert.equal(done.attempts, 2);
    assert.deepEqual((done.outcome as { replayed: boolean }).replayed, true, "the second run got the first run's answer back");
    assert.deepEqual((await reader.readStream("default", "booking-K1")).map((e) => e.type), ["RoomBooked", "BookingCancelled"], "cancelled once");
  } finally {
    await reader.close();
  }
});
