import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BookingService } from "../../src/gen/booking/v1/booking_pb.js";
import { bookRoomRequest, newId } from "../support/booking-requests.js";
import { eventually } from "../support/eventually.js";
import { grpcJsClient, type GrpcJsClient } from "../support/grpc-client.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

/**
 * The booking domain's flows that run by themselves, against a real server process: a booking
 * paid in full is confirmed by the confirm-paid-bookings reaction and its guest notified through
 * the webhook GuestNotifier (a real HTTP receiver here), exactly once.
 */
describe("booking flows against a real server", () => {
  let server: ServerProcess;
  let receiver: Server;
  let bookings: GrpcJsClient<typeof BookingService>;
  const notifications: Array<{ idempotencyKey: string; body: { event: string; notice: Record<string, string> } }> = [];

  before(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        notifications.push({ idempotencyKey: String(req.headers["idempotency-key"]), body: JSON.parse(body) });
        res.writeHead(204).end();
      });
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    server = await startServerProcess({
      GUEST_NOTIFIER: "webhook",
      GUEST_NOTIFIER_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/guests`,
      // Long enough that booking and paying in turn finish before the cancellation is due, on a loaded machine too.
      UNPAID_BOOKING_TTL: "4s",
    });
    bookings = grpcJsClient(BookingService, server.grpcAddress);
  });
  after(async () => {
    bookings?.close();
    await server?.dispose();
    receiver?.closeAllConnections();
    receiver?.close();
  });

  const pay = (bookingId: string, paymentId: string, amount: string) =>
    bookings.recordPayment({ bookingId, paymentId, amount, currency: "EUR", paidAt: timestampFromDate(new Date()), requestId: newId("pay") });

  it("confirms a booking paid in full and notifies its guest through the webhook exactly once", async () => {
    const bookingId = newId("PAID");
    const bookedAt = Date.now();
    await bookings.bookRoom(bookRoomRequest(bookingId, { guestId: "guest-7" }));
    await pay(bookingId, "P1", "100.00");
    assert.equal((await bookings.getBooking({ bookingId })).status, "booked");
    await pay(bookingId, "P2", "200.00");
    await eventually("the booking is confirmed", async () => (await bookings.getBooking({ bookingId })).status === "confirmed");
    await eventually("the guest is notified", async () => notifications.some((n) => n.body.notice.bookingId === bookingId));
    // A payment the provider sends again changes nothing, and nobody is told twice.
    await pay(bookingId, "P2", "200.00");
    // Past UNPAID_BOOKING_TTL too: the scheduled CancelUnpaidBooking leaves a confirmed booking alone.
    await sleep(Math.max(1500, bookedAt + 5500 - Date.now()));
    const mine = notifications.filter((n) => n.body.notice.bookingId === bookingId);
    assert.equal(mine.length, 1, JSON.stringify(notifications));
    assert.equal(mine[0].body.event, "BookingConfirmed");
    assert.deepEqual([mine[0].body.notice.guestId, mine[0].body.notice.tenant, mine[0].body.notice.checkIn], ["guest-7", "default", "2030-01-01"]);
    assert.match(mine[0].idempotencyKey, /^booking\.confirm-paid-bookings:/);
    assert.equal((await bookings.getBooking({ bookingId })).status, "confirmed");
    assert.ok(server.logs.some((l) => l.msg === "reaction runner holds the lease"));
  });

  // The other flow (UNPAID_BOOKING_TTL: a booking left unpaid is cancelled with reason
  // "unpaid") is in scheduled-commands.e2e.test.ts; it may move here, beside the paid one.
});
