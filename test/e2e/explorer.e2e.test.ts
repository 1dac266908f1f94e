import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { chromium, type Browser, type Page } from "playwright-core";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { CommandStatus } from "../../src/gen/switchyard/command/v1/command_pb.js";
import { hs256Token } from "../support/auth-helpers.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";
import { findChromium } from "../support/chromium.js";
import { grpcJsClient, type GrpcJsClient } from "../support/grpc-client.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const SECRET = randomBytes(24).toString("base64url");
const AUDIENCE = "switchyard-explorer";
const paidAt = timestampFromDate(new Date("2026-01-15T10:00:00Z"));
/** With EXPLORER_SCREENSHOT=docs/explorer.png the test saves what the page shows at its end (the README's picture). */
const SCREENSHOT = process.env.EXPLORER_SCREENSHOT;
const found = findChromium();

if ("skip" in found) {
  console.log(`# explorer page tests skipped: ${found.skip}`);
  it("the explorer page in headless Chromium", { skip: found.skip }, () => {});
} else {
  describe("the explorer page in headless Chromium (AUTH_MODE=jwt)", () => {
    let server: ServerProcess;
    let browser: Browser;
    let page: Page;
    let booking: GrpcJsClient<typeof BookingService>;
    let writer: Record<string, string>;
    const token = (sub: string, scope: string) => hs256Token(SECRET, { sub, tenant: "acme", scope, audience: AUDIENCE });

    before(async () => {
      [server, browser] = await Promise.all([
        startServerProcess({ AUTH_MODE: "jwt", AUTH_JWT_SECRET: SECRET, AUTH_AUDIENCE: AUDIENCE }),
        chromium.launch({ executablePath: found.executablePath }),
      ]);
      booking = grpcJsClient(BookingService, server.grpcAddress);
      writer = { authorization: `Bearer ${await token("front-desk", "bookings:write")}` };
      page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    });
    after(async () => {
      booking?.close();
      await browser?.close();
      await server?.dispose();
    });

    it("without a token shows what the API answers, and loads nothing", async () => {
      await page.goto(server.httpUrl);
      await page.locator("#panel-commands .error").filter({ hasText: "Unauthenticated: a bearer token is required" }).waitFor();
      await page.locator("#panel-live-tail .status.failed").filter({ hasText: "Unauthenticated" }).waitFor();
      assert.equal(await page.locator("#panel-streams tbody tr").count(), 0);
    });

    it("with a reader's token lists the streams written before, the commands and their schemas, and goes live", async () => {
      const earlier = newId("B");
      assert.equal((await booking.bookRoom(bookRoomRequest(earlier), writer)).status, CommandStatus.ACCEPTED);
      await page.fill("#token", `Bearer ${await token("auditor", "bookings:read")}`);
      await page.click("#token-form button[type=submit]");

      await page.locator(`#panel-streams tr[data-stream-id="booking-${earlier}"]`).waitFor();
      await page.locator("#panel-live-tail .status.live").waitFor();
      const bookRoom = page.locator('#panel-commands details[data-command-type="booking.BookRoom"]');
      await bookRoom.locator("summary").click();
      assert.match(await bookRoom.innerText(), /bookings:write[\s\S]*CHECK_IN_IN_PAST[\s\S]*\/booking\.v1\.BookingService\/BookRoom[\s\S]*"required"/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem("switchyard.explorer.token")?.split(".").length), 3, "the token, without 'Bearer', is kept for the tab");
      await page.locator("#panel-schedules .dead-letters").filter({ hasText: "PermissionDenied: dead letters require schedules:admin" }).waitFor();
    });

    it("shows a command sent over gRPC live, and the stream's events with the command that wrote each", async () => {
      const bookingId = newId("B");
      const stream = `booking-${bookingId}`;
      await booking.bookRoom(bookRoomRequest(bookingId), writer);
      await booking.recordPayment({ bookingId, paymentId: "P1", amount: "40.00", currency: "EUR", paidAt, requestId: newId("r") }, writer);

      const tail = page.locator("#panel-live-tail tbody tr").filter({ hasText: stream });
      await tail.nth(1).waitFor({ timeout: 10_000 });
      assert.deepEqual(await tail.locator("td:nth-child(3)").allInnerTexts(), ["PaymentRecorded", "RoomBooked"], "newest first");
      assert.match(await tail.first().innerText(), /booking\.RecordPayment …[0-9a-f]{8}/);

      await tail.first().locator("a").click();
      const events = page.locator(`#panel-streams table.events[data-stream-id="${stream}"] tr.event`);
      await events.nth(1).waitFor();
      assert.deepEqual(await events.locator("td:nth-child(3)").allInnerTexts(), ["RoomBooked", "PaymentRecorded"]);
      const details = page.locator(`#panel-streams table.events tr.event-details details`).first();
      await details.locator("summary").click();
      const text = await details.innerText();
      assert.match(text, new RegExp(`"bookingId": "${bookingId}"`));
      assert.match(text, /command\s+booking\.BookRoom/);
      assert.match(text, /user\s+front-desk/);
      assert.match(text, /tenant\s+acme/);

      // A later payment joins the open stream as it commits.
      await booking.recordPayment({ bookingId, paymentId: "P2", amount: "2.00", currency: "EUR", paidAt, requestId: newId("r") }, writer);
      await events.nth(2).waitFor({ timeout: 10_000 });
      assert.equal(await events.nth(2).locator("td:nth-child(1)").innerText(), "3");
      await page.locator("#panel-streams .stream-view p").filter({ hasText: "3 events;" }).waitFor();
    });

    it("with an operator's token shows bookings in the bookings read model a page at a time, one by id, and a booking's scheduled unpaid cancellation", async () => {
      await page.fill("#token", `Bearer ${await token("operator", "bookings:read bookings:write schedules:admin")}`);
      await page.click("#token-form button[type=submit]");
      await page.locator("#panel-live-tail .status.live").waitFor();
      const [first, second] = [newId("B"), newId("B")];
      for (const bookingId of [first, second]) assert.equal((await booking.bookRoom(bookRoomRequest(bookingId), writer)).status, CommandStatus.ACCEPTED);

      // Find, one document a page: every booking of the tenant, each once, through next_page_token.
      const readModels = page.locator("#panel-read-models");
      await readModels.locator('select[name="collection"]').selectOption("bookings");
      await readModels.locator('input[name="page-size"]').fill("1");
      await readModels.locator("form.find button[type=submit]").click();
      const rows = readModels.locator('table.documents[data-collection="bookings"] tr.document');
      const more = readModels.locator(".found button", { hasText: "More" });
      await rows.first().waitFor();
      assert.equal(await rows.count(), 1);
      for (let page = 2; await more.isVisible(); page++) {
        await more.click();
        await rows.nth(page - 1).waitFor();
      }
      const ids = await rows.locator("td:first-child").allInnerTexts();
      assert.equal(new Set(ids).size, ids.length, `no booking twice: ${ids.join()}`);
      assert.ok([first, second].every((id) => ids.includes(id)), ids.join());

      // A filter on a declared field, and the document's declared fields as columns.
      await readModels.locator('input[name="filter"]').fill(JSON.stringify({ roomId: second }));
      await readModels.locator("form.find button[type=submit]").click();
      await readModels.locator(".found .muted").filter({ hasText: "1 document, all that match." }).waitFor();
      const columns = await readModels.locator("table.documents th").allInnerTexts();
      const cells = await readModels.locator(`tr.document[data-document-id="${second}"] td`).allInnerTexts();
      const shown = Object.fromEntries(columns.map((column, i) => [column, cells[i]]));
      assert.deepEqual(
        ["id", "status", "roomId", "guestId", "checkIn", "checkOut", "paidMinor", "outstandingMinor", "version"].map((column) => shown[column]),
        [second, "booked", second, "guest-1", "2030-01-01", "2030-01-04", "0", "30000", "1"],
      );

      // Fetch by id.
      await readModels.locator('input[name="document-id"]').fill("no-such-booking");
      await readModels.locator("form.fetch button[type=submit]").click();
      await readModels.locator(".document-view .error").filter({ hasText: 'NotFound: collection "bookings" has no document "no-such-booking"' }).waitFor();
      await readModels.locator('input[name="document-id"]').fill(first);
      await readModels.locator("form.fetch button[type=submit]").click();
      const fetched = readModels.locator(`.document-view .document[data-document-id="${first}"]`);
      await fetched.waitFor();
      assert.equal(await fetched.locator("p").innerText(), "version 1");
      const data = JSON.parse(await fetched.locator("pre").innerText()) as Record<string, unknown>;
      assert.deepEqual([data.bookingId, data.status, data.guestId, data.price], [first, "booked", "guest-1", { amountMinor: 30000, currency: "EUR" }]);

      // The booking's unpaid cancellation, scheduled with its RoomBooked; no dead letters.
      const schedules = page.locator("#panel-schedules");
      const cancellation = schedules.locator(`table.scheduled tr.schedule[data-aggregate-id="${second}"]`);
      await cancellation.waitFor({ timeout: 10_000 });
      const [type, aggregateId, state, runsAt, attempts, outcome, scheduledBy] = await cancellation.locator("td").allInnerTexts();
      assert.deepEqual([type, aggregateId, state, attempts, outcome, scheduledBy], ["booking.CancelUnpaidBooking", second, "pending", "0", "", "front-desk"]);
      const details = schedules.locator(`table.scheduled tr.schedule[data-aggregate-id="${second}"] + tr.schedule-details`);
      assert.deepEqual(JSON.parse((await details.locator("pre").textContent()) ?? ""), { bookingId: second });
      const made = (await details.locator("dt", { hasText: "made" }).locator("+ dd").textContent()) ?? "";
      assert.equal(Date.parse(runsAt) - Date.parse(made), 48 * 3600_000, `runs at ${runsAt}, made ${made}: UNPAID_BOOKING_TTL's 48 h apart`);
      await schedules.locator(".dead-letters .muted").filter({ hasText: "No dead letters." }).waitFor();

      if (SCREENSHOT) {
        await page.locator("#panel-streams table.events tr.event-details summary").first().click();
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
      }
    });

    it("keeps the token across a reload of the tab and forgets it when told", async () => {
      await page.reload();
      await page.locator("#panel-live-tail .status.live").waitFor();
      assert.equal(await page.locator("#token-state").innerText(), "calls send this token");
      await page.click("#token-forget");
      await page.locator("#panel-live-tail .status.failed").waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.getItem("switchyard.explorer.token")), null);
    });
  });
}
