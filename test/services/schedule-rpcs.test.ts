import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, DurationSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import {
  CancelScheduledCommandRequestSchema,
  DiscardDeadLetterRequestSchema,
  ListDeadLettersRequestSchema,
  ListScheduledCommandsRequestSchema,
  RetryDeadLetterRequestSchema,
  ScheduleCommandRequestSchema,
  ScheduledCommandState,
} from "../../src/gen/switchyard/command/v1/schedules_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { booking } from "../../src/domain/booking/index.js";
import type { EdgeCall } from "../../src/edge/edge-service.js";
import { pageTokens } from "../../src/edge/signed-page-token.js";
import type { Identity } from "../../src/kernel/identity.js";
import type { CommandResult } from "../../src/kernel/result.js";
import { startScheduler } from "../../src/scheduler/scheduler.js";
import { commandServiceV1 } from "../../src/services/command-v1/handlers.js";
import { DEAD_LETTER_SCOPE } from "../../src/services/command-v1/schedule-handlers.js";
import { EDGE_ROUTES } from "../../src/services/index.js";
import { bookingApp, bookRoomPayload } from "../support/booking-app.js";
import { virtualTime } from "../support/virtual-time.js";

const staff = (tenant = "acme", scopes = ["bookings:write"]): Identity => ({ userId: "staff-1", tenant, scopes, authenticated: true });
const callAs = (identity: Identity): EdgeCall => ({ method: "/switchyard.command.v1.CommandService/ScheduleCommand", identity, header: () => undefined, log: {}, signal: new AbortController().signal });

/** The gRPC error a call failed with. */
async function failure(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  const error = await call.then(
    () => assert.fail("the call should fail"),
    (e: unknown) => ConnectError.from(e),
  );
  assert.equal(error.code, code, error.message);
  return error;
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;

/** A booking app on virtual time with a scheduler and the command service; `failing` makes every scheduled run fail as unavailable. */
function world() {
  const time = virtualTime("2026-05-01T12:00:00Z");
  const app = bookingApp({ collaborators: { clock: time.clock } as never });
  const state = { failing: false };
  const scheduler = startScheduler({
    schedules: app.store.schedules!,
    clock: time.clock,
    timer: time.timer,
    maxAttempts: 2,
    retryFirstMs: 1000,
    execute: async (envelope): Promise<CommandResult> =>
      state.failing
        ? ({ status: "unavailable", message: "the store is busy", commandId: "x", commandType: envelope.type, aggregateId: "", correlationId: "", replayed: false } as CommandResult)
        : app.execute(envelope),
  });
  const service = commandServiceV1(app, EDGE_ROUTES, undefined, {}, {
    schedules: app.store.schedules!,
    registry: app.registry,
    loadState: app.loadState,
    clock: time.clock,
    pageTokens: pageTokens("a secret of at least thirty-two characters"),
    wake: scheduler.wake,
  }).impl;
  const pass = async (ms: number) => {
    time.advance(ms);
    for (let i = 0; i < 5; i++) {
      await turn();
      await scheduler.idle();
    }
  };
  const schedule = (identity: Identity, fields: MessageInitShape<typeof ScheduleCommandRequestSchema>) =>
    service.scheduleCommand(create(ScheduleCommandRequestSchema, fields), callAs(identity));
  const cancelIn = (bookingId: string, delayMs = 60_000): MessageInitShape<typeof ScheduleCommandRequestSchema> => ({
    commandType: "booking.CancelBooking",
    aggregateId: bookingId,
    payload: { reason: "no show" },
    when: { case: "delay", value: durationFromMs(delayMs) },
  });
  const close = async () => {
    await scheduler.stop();
    await app.close();
  };
  return { time, app, state, service, pass, schedule, cancelIn, close };
}

describe("ScheduleCommand", () => {
  it("schedules a command after a delay under the caller's tenant and runs it then, as the caller", async () => {
    const w = world();
    const acme = staff();
    await w.app.execute({ type: "booking.BookRoom", payload: bookRoomPayload("B1"), metadata: { identity: acme } });
    const scheduled = await w.schedule(acme, { ...w.cancelIn("B1", 60_000), requestId: "req-1" });
    assert.equal(scheduled.state, ScheduledCommandState.PENDING);
    assert.equal(scheduled.scheduledBy, "staff-1");
    assert.deepEqual(scheduled.payload, { reason: "no show", bookingId: "B1" });
    assert.equal(Number(scheduled.runAt!.seconds) * 1000, w.time.now() + 60_000);
    const again = await w.schedule(acme, { ...w.cancelIn("B1", 60_000), requestId: "req-1" });
    assert.equal(again.scheduleId, scheduled.scheduleId, "the same request id finds the same schedule");
    const reused = await failure(w.schedule(acme, { ...w.cancelIn("B1", 60_000), payload: { reason: "other" }, requestId: "req-1" }), Code.InvalidArgument);
    assert.equal(reasonOf(reused), "REQUEST_ID_REUSED");

    await w.pass(59_000);
    assert.equal((await w.app.loadState(booking, "B1", "acme")).state.status, "booked");
    await w.pass(1_000);
    assert.equal((await w.app.loadState(booking, "B1", "acme")).state.status, "cancelled");
    const [cancelled] = await w.app.store.readStream("acme", "booking-B1", { fromRevision: 2 });
    assert.equal(cancelled.metadata.userId, "staff-1");
    const listed = await w.service.listScheduledCommands(create(ListScheduledCommandsRequestSchema, {}), callAs(acme));
    const mine = listed.scheduledCommands!.filter((s) => s.commandType === "booking.CancelBooking");
    assert.deepEqual(mine.map((s) => [s.scheduleId, s.state, s.outcomeStatus]), [[scheduled.scheduleId, ScheduledCommandState.DONE, "accepted"]]);
    assert.deepEqual(
      listed.scheduledCommands!.map((s) => s.commandType).sort(),
      ["booking.CancelBooking", "booking.CancelUnpaidBooking"],
      "BookRoom scheduled its own CancelUnpaidBooking",
    );
    assert.equal((await w.service.listScheduledCommands(create(ListScheduledCommandsRequestSchema, {}), callAs(staff("other")))).scheduledCommands!.length, 0);
    await w.close();
  });

  it("refuses, writing nothing: no time, a bad time, an unknown command, a bad payload, a caller the command's policy refuses", async () => {
    const w = world();
    const acme = staff();
    const noWhen = await failure(w.schedule(acme, { ...w.cancelIn("B1"), when: { case: undefined } }), Code.InvalidArgument);
    assert.deepEqual(noWhen.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["when"]);
    const negative = await failure(w.schedule(acme, { ...w.cancelIn("B1"), when: { case: "delay", value: create(DurationSchema, { seconds: -5n }) } }), Code.InvalidArgument);
    assert.deepEqual(negative.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["delay"]);
    const unknown = await failure(w.schedule(acme, { ...w.cancelIn("B1"), commandType: "booking.Nope" }), Code.InvalidArgument);
    assert.equal(reasonOf(unknown), "UNKNOWN_COMMAND");
    const badPayload = await failure(w.schedule(acme, { ...w.cancelIn("B1"), payload: {} }), Code.InvalidArgument);
    assert.deepEqual(badPayload.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["payload.reason"]);
    const reader = await failure(w.schedule(staff("acme", ["bookings:read"]), w.cancelIn("B1")), Code.PermissionDenied);
    assert.match(reader.message, /requires bookings:write/);
    await failure(w.schedule({ tenant: "acme", scopes: [], authenticated: false }, w.cancelIn("B1")), Code.Unauthenticated);
    const atTime = await w.schedule(acme, { ...w.cancelIn("B1"), when: { case: "runAt", value: timestampFromMs(w.time.now() + 5000) } });
    assert.equal(Number(atTime.runAt!.seconds) * 1000, w.time.now() + 5000);
    const listed = await w.service.listScheduledCommands(create(ListScheduledCommandsRequestSchema, {}), callAs(acme));
    assert.equal(listed.scheduledCommands!.length, 1, "only the valid one was written");
    await w.close();
  });
});

describe("CancelScheduledCommand and ListScheduledCommands", () => {
  it("cancels a pending schedule once, hides other tenants' and pages with tamper-proof tokens", async () => {
    const w = world();
    const acme = staff();
    await w.app.execute({ type: "booking.BookRoom", payload: bookRoomPayload("B2"), metadata: { identity: acme } });
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await w.schedule(acme, w.cancelIn("B2", 60_000 + i)));
    const cancelled = await w.service.cancelScheduledCommand(create(CancelScheduledCommandRequestSchema, { scheduleId: made[0].scheduleId }), callAs(acme));
    assert.equal(cancelled.state, ScheduledCommandState.CANCELLED);
    const twice = await failure(w.service.cancelScheduledCommand(create(CancelScheduledCommandRequestSchema, { scheduleId: made[0].scheduleId }), callAs(acme)), Code.FailedPrecondition);
    assert.equal(reasonOf(twice), "SCHEDULE_NOT_PENDING");
    const elsewhere = await failure(w.service.cancelScheduledCommand(create(CancelScheduledCommandRequestSchema, { scheduleId: made[1].scheduleId }), callAs(staff("other"))), Code.NotFound);
    assert.equal(reasonOf(elsewhere), "SCHEDULE_NOT_FOUND");
    await failure(w.service.cancelScheduledCommand(create(CancelScheduledCommandRequestSchema, { scheduleId: made[1].scheduleId }), callAs(staff("acme", ["bookings:read"]))), Code.PermissionDenied);

    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await w.service.listScheduledCommands(create(ListScheduledCommandsRequestSchema, { pageSize: 2, pageToken }), callAs(acme));
      seen.push(...page.scheduledCommands!.map((s) => s.scheduleId!));
      pageToken = page.nextPageToken!;
      pages++;
      if (pageToken) {
        const [body, mac] = pageToken.split(".");
        const forged = `${Buffer.from(JSON.stringify({ list: "scheduled", tenant: "acme", after: "" })).toString("base64url")}.${mac}`;
        const tampered = await failure(w.service.listScheduledCommands(create(ListScheduledCommandsRequestSchema, { pageToken: forged }), callAs(acme)), Code.InvalidArgument);
        assert.deepEqual(tampered.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field), ["page_token"]);
        await failure(w.service.listScheduledCommands(create(ListScheduledCommandsRequestSchema, { pageToken: `${body}.${mac}` }), callAs(staff("other"))), Code.InvalidArgument);
        // Altered where base64url decoding would not see it: the MAC's last character to its
        // neighbour (the same bits but a spare one), or a character outside the alphabet inserted.
        const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (const altered of [`${body}.${mac.slice(0, -1)}${alphabet[alphabet.indexOf(mac.at(-1)!) ^ 1]}`, `${body}.${mac.slice(0, 5)}!${mac.slice(5)}`]) {
          await failure(w.service.listScheduledCommands(create(ListScheduledCommandsRequestSchema, { pageToken: altered }), callAs(acme)), Code.InvalidArgument);
        }
      }
    } while (pageToken);
    assert.equal(pages, 3);
    // BookRoom's own CancelUnpaidBooking came first: six in all, two a page.
    assert.equal(seen.length, 6);
    assert.deepEqual(seen.slice(1), made.map((m) => m.scheduleId));
    await w.close();
  });
});

describe("dead letters", () => {
  it("lists, retries once (two Retry calls at once settle it once) and discards, with the admin scope only", async () => {
    const w = world();
    const acme = staff();
    const admin = staff("acme", [DEAD_LETTER_SCOPE]);
    await w.app.execute({ type: "booking.BookRoom", payload: bookRoomPayload("B3"), metadata: { identity: acme } });
    const made = await w.schedule(acme, w.cancelIn("B3", 1000));
    w.state.failing = true;
    await w.pass(1000);
    await w.pass(1000);
    await failure(w.service.listDeadLetters(create(ListDeadLettersRequestSchema, {}), callAs(acme)), Code.PermissionDenied);
    const { deadLetters } = await w.service.listDeadLetters(create(ListDeadLettersRequestSchema, {}), callAs(admin));
    assert.equal(deadLetters!.length, 1);
    const [dead] = deadLetters!;
    assert.equal(dead.scheduleId, made.scheduleId);
    assert.equal(dead.state, ScheduledCommandState.DEAD_LETTER);
    assert.equal(dead.attempts, 2);
    assert.equal(dead.lastError, "unavailable: the store is busy");
    assert.equal(dead.commandType, "booking.CancelBooking");

    w.state.failing = false;
    const retry = () => w.service.retryDeadLetter(create(RetryDeadLetterRequestSchema, { scheduleId: made.scheduleId }), callAs(admin));
    const settled = await Promise.allSettled([retry(), retry()]);
    assert.deepEqual(settled.map((s) => s.status).sort(), ["fulfilled", "rejected"]);
    const lost = ConnectError.from((settled.find((s) => s.status === "rejected") as PromiseRejectedResult).reason);
    assert.equal(reasonOf(lost), "NOT_A_DEAD_LETTER");
    await w.pass(0);
    assert.equal((await w.app.loadState(booking, "B3", "acme")).state.status, "cancelled");
    const events = await w.app.store.readStream("acme", "booking-B3");
    assert.equal(events.filter((e) => e.type === "BookingCancelled").length, 1);

    await w.app.execute({ type: "booking.BookRoom", payload: bookRoomPayload("B4"), metadata: { identity: acme } });
    const other = await w.schedule(acme, w.cancelIn("B4", 1000));
    w.state.failing = true;
    await w.pass(1000);
    await w.pass(1000);
    const discarded = await w.service.discardDeadLetter(create(DiscardDeadLetterRequestSchema, { scheduleId: other.scheduleId }), callAs(admin));
    assert.equal(discarded.state, ScheduledCommandState.DISCARDED);
    await failure(w.service.discardDeadLetter(create(DiscardDeadLetterRequestSchema, { scheduleId: other.scheduleId }), callAs(admin)), Code.FailedPrecondition);
    await failure(w.service.retryDeadLetter(create(RetryDeadLetterRequestSchema, { scheduleId: "nope" }), callAs(admin)), Code.NotFound);
    assert.equal((await w.service.listDeadLetters(create(ListDeadLettersRequestSchema, {}), callAs(admin))).deadLetters!.length, 0);
    await w.close();
  });
});
