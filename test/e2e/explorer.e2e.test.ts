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
      if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
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
