import { createHash } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { v7 as uuidv7 } from "uuid";
import { badRequest, commandError, edgeError } from "../../edge/command-error.js";
import type { EdgeCall } from "../../edge/edge-service.js";
import { payloadFieldNames } from "../../edge/field-names.js";
import type { PageTokens } from "../../edge/signed-page-token.js";
import { CORRELATION_HEADER } from "../../edge/run-command.js";
import { authorize, type Authorization } from "../../kernel/policy.js";
import { hasScope, type Identity } from "../../kernel/identity.js";
import { resultOf, type Outcome, type Violation } from "../../kernel/result.js";
import { MAX_REQUEST_ID_LENGTH } from "../../pipeline/envelope.js";
import { checkSchedule, type ScheduleChecks } from "../../scheduler/check-schedule.js";
import type { ScheduleStatus, ScheduleStore, StoredSchedule } from "../../store/schedule-store.js";
import { ScheduledCommandState, type ScheduleCommandRequest } from "../../gen/switchyard/command/v1/schedules_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ScheduledCommandSchema } from "../../gen/switchyard/command/v1/schedules_pb.js";

/** The latest instant a google.protobuf.Timestamp can hold, in ms: a schedule runs no later. */
const LATEST_RUN_AT = Date.UTC(9999, 11, 31, 23, 59, 59);

/** The scope that lists, retries and discards dead letters. */
export const DEAD_LETTER_SCOPE = "schedules:admin";

/** Default and largest page of a list. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** What the schedule RPCs need: the schedules, the pipeline's checks, the clock, the page tokens, and a way to wake the scheduler. */
export interface ScheduleEdge extends ScheduleChecks {
  readonly schedules: ScheduleStore;
  readonly clock: () => Date;
  readonly pageTokens: PageTokens;
  /** Tells the scheduler a schedule may be due sooner than it thinks (a new one, a retried dead letter). */
  readonly wake?: () => void;
}

const STATES: Readonly<Record<ScheduleStatus, ScheduledCommandState>> = {
  pending: ScheduledCommandState.PENDING,
  done: ScheduledCommandState.DONE,
  rejected: ScheduledCommandState.REJECTED,
  cancelled: ScheduledCommandState.CANCELLED,
  dead: ScheduledCommandState.DEAD_LETTER,
  discarded: ScheduledCommandState.DISCARDED,
};

/** ScheduleCommandRequest's fields as the pipeline's violations name them and as the proto does. */
const SCHEDULE_FIELDS = payloadFieldNames("payload", { type: "command_type", aggregateId: "aggregate_id", requestId: "request_id" });

const ALL_STATUSES: readonly ScheduleStatus[] = ["pending", "done", "rejected", "cancelled", "dead", "discarded"];

/** A stored schedule on the wire. */
export function toScheduledCommand(s: StoredSchedule): MessageInitShape<typeof ScheduledCommandSchema> {
  const outcome = (s.outcome ?? {}) as { status?: string; code?: string; message?: string };
  return {
    scheduleId: s.id,
    commandType: s.commandType,
    aggregateId: s.aggregateId,
    payload: s.payload as JsonObject,
    runAt: timestampFromMs(s.runAt),
    state: STATES[s.status],
    attempts: s.attempts,
    lastError: s.lastError ?? "",
    outcomeStatus: outcome.status ?? "",
    outcomeCode: outcome.code ?? "",
    outcomeMessage: outcome.message ?? "",
    createdAt: timestampFromMs(s.createdAt),
    finishedAt: s.finishedAt === undefined ? undefined : timestampFromMs(s.finishedAt),
    scheduledBy: s.identity.userId ?? s.identity.clientId ?? "",
    correlationId: s.correlationId,
  };
}

/**
 * The schedule id a request id names: a hash of tenant and request id, so scheduling again
 * with the same request id finds the first schedule instead of adding another.
 */
export function scheduleIdOf(tenant: string, requestId: string): string {
  return `r-${createHash("sha256").update(`${tenant}\0${requestId}`).digest("hex").slice(0, 40)}`;
}

/** The CommandService RPCs for scheduled commands and dead letters. */
export function scheduleHandlers(edge: ScheduleEdge, envelopeViolations: (request: ScheduleCommandRequest) => Violation[]) {
  /** A check's refusal as the same AIP-193 error Execute gives for it. */
  const refused = (request: { commandType: string; aggregateId: string }, call: EdgeCall, outcome: Extract<Outcome, { status: "invalid" | "unauthorized" }>) => {
    const commandId = uuidv7();
    const base = {
      commandId,
      commandType: request.commandType.slice(0, MAX_REQUEST_ID_LENGTH),
      aggregateId: request.aggregateId.slice(0, MAX_REQUEST_ID_LENGTH),
      correlationId: (call.header(CORRELATION_HEADER) ?? commandId).slice(0, MAX_REQUEST_ID_LENGTH),
      replayed: false,
    };
    return commandError(resultOf(base, outcome), SCHEDULE_FIELDS);
  };

  /** A schedule of the caller's tenant, or NOT_FOUND (another tenant's does not exist for the caller). */
  async function found(call: EdgeCall, id: string, field = "schedule_id"): Promise<StoredSchedule> {
    if (!id) throw badRequest([{ field, description: `${field} is required` }]);
    const schedule = id.length <= MAX_REQUEST_ID_LENGTH ? await edge.schedules.get(call.identity.tenant, id) : undefined;
    if (!schedule) throw edgeError(Code.NotFound, "SCHEDULE_NOT_FOUND", `no scheduled command "${id.slice(0, 64)}"`, { scheduleId: id.slice(0, 64) });
    return schedule;
  }

  /** Refuses a caller whose identity does not meet the schedule's command's policy now. */
  async function mayRun(identity: Identity, schedule: StoredSchedule): Promise<void> {
    const command = edge.registry.get(schedule.commandType);
    const access: Authorization = command ? authorize(command.policy, identity, command.type) : { kind: "granted" };
    if (access.kind === "denied") throw edgeError(access.reason === "UNAUTHENTICATED" ? Code.Unauthenticated : Code.PermissionDenied, access.reason, access.message);
    if (access.kind === "needs-state" && command) {
      const { state } = await edge.loadState(command.aggregate, schedule.aggregateId, identity.tenant);
      if (!access.rules.some((r) => r.allows(state, identity, schedule.payload))) {
        throw edgeError(Code.PermissionDenied, "PERMISSION_DENIED", `${command.type} is not allowed to the caller for "${schedule.aggregateId}"`);
      }
    }
  }

  function admin(identity: Identity): void {
    if (!identity.authenticated) throw edgeError(Code.Unauthenticated, "UNAUTHENTICATED", "credentials are required");
    if (!hasScope(identity, DEAD_LETTER_SCOPE)) throw edgeError(Code.PermissionDenied, "PERMISSION_DENIED", `dead letters require ${DEAD_LETTER_SCOPE}`);
  }

  /** One page: the stored schedules after the token's position, and the token of the next page. */
  async function page(call: EdgeCall, list: string, statuses: readonly ScheduleStatus[], request: { pageSize: number; pageToken: string }, visible: (s: StoredSchedule) => Promise<boolean>) {
    if (request.pageSize < 0) throw badRequest([{ field: "page_size", description: "page_size must be 0 or more" }]);
    const size = Math.min(request.pageSize || DEFAULT_PAGE, MAX_PAGE);
    const tenant = call.identity.tenant;
    let afterId: string | undefined;
    if (request.pageToken) {
      const token = edge.pageTokens.open(request.pageToken);
      if (!token || token.list !== list || token.tenant !== tenant) {
        throw badRequest([{ field: "page_token", description: "page_token is not a token this list gave the caller; start again without one" }]);
      }
      afterId = token.after;
    }
    const rows = await edge.schedules.list(tenant, { statuses, afterId, limit: size + 1 });
    const more = rows.length > size;
    const taken = more ? rows.slice(0, size) : rows;
    const shown: StoredSchedule[] = [];
    for (const s of taken) if (await visible(s)) shown.push(s);
    const nextPageToken = more ? edge.pageTokens.seal({ list, tenant, after: taken[taken.length - 1].id }) : "";
    return { items: shown.map(toScheduledCommand), nextPageToken };
  }

  /** The settled answer to a dead-letter change that found nothing to change. */
  async function notADeadLetter(call: EdgeCall, id: string): Promise<never> {
    const schedule = await found(call, id);
    throw edgeError(Code.FailedPrecondition, "NOT_A_DEAD_LETTER", `scheduled command "${id}" is ${schedule.status}, not a dead letter`, { scheduleId: id, state: schedule.status });
  }

  return {
    async scheduleCommand(request: ScheduleCommandRequest, call: EdgeCall): Promise<MessageInitShape<typeof ScheduledCommandSchema>> {
      const violations = envelopeViolations(request);
      if (request.requestId.length > MAX_REQUEST_ID_LENGTH) violations.push({ field: "request_id", description: `request_id is longer than ${MAX_REQUEST_ID_LENGTH} characters` });
      const now = edge.clock().getTime();
      let runAt = NaN;
      if (request.when.case === "runAt") runAt = timestampDate(request.when.value).getTime();
      else if (request.when.case === "delay") {
        const { seconds, nanos } = request.when.value;
        const ms = Number(seconds) * 1000 + Math.trunc(nanos / 1e6);
        if (ms < 0 || nanos < 0) violations.push({ field: "delay", description: "delay must not be negative" });
        runAt = now + ms;
      } else violations.push({ field: "when", description: "one of run_at and delay is required" });
      // A run time must be one a Timestamp can carry back (ListScheduledCommands answers with it).
      if (request.when.case !== undefined && !(Number.isSafeInteger(runAt) && runAt <= LATEST_RUN_AT)) {
        violations.push({ field: request.when.case === "runAt" ? "run_at" : "delay", description: "the time is out of range: a command may run at the latest at 9999-12-31T23:59:59Z" });
      }
      if (violations.length > 0) throw badRequest(violations);

      const identity = call.identity;
      const checked = await checkSchedule(edge, { type: request.commandType, aggregateId: request.aggregateId, payload: (request.payload ?? {}) as Record<string, unknown> }, identity);
      if (!checked.ok) throw refused(request, call, checked.outcome);
      call.log.requestId = request.requestId || undefined;
      const id = request.requestId ? scheduleIdOf(identity.tenant, request.requestId) : uuidv7();
      const correlationId = call.header(CORRELATION_HEADER) ?? (request.requestId || id);
      const schedule = {
        id,
        commandType: request.commandType,
        aggregateId: checked.aggregateId,
        payload: checked.payload,
        runAt,
        identity,
        correlationId: correlationId.slice(0, MAX_REQUEST_ID_LENGTH),
        causationId: request.requestId || id,
        createdAt: now,
        ...(call.traceparent === undefined ? {} : { traceparent: call.traceparent }),
      };
      if (!(await edge.schedules.add(identity.tenant, schedule))) {
        const earlier = await found(call, id);
        const same = earlier.commandType === schedule.commandType && earlier.aggregateId === schedule.aggregateId && JSON.stringify(earlier.payload) === JSON.stringify(schedule.payload);
        if (!same) {
          throw refused(request, call, {
            status: "invalid",
            reason: "REQUEST_ID_REUSED",
            message: `request id "${request.requestId}" was already used to schedule a different command; a new command needs a new request id`,
            violations: [{ field: "requestId", description: `already used to schedule ${earlier.commandType} on "${earlier.aggregateId}"` }],
          });
        }
        return toScheduledCommand(earlier);
      }
      edge.wake?.();
      return toScheduledCommand((await edge.schedules.get(identity.tenant, id))!);
    },

    async cancelScheduledCommand(request: { scheduleId: string }, call: EdgeCall) {
      const schedule = await found(call, request.scheduleId);
      await mayRun(call.identity, schedule);
      if (!(await edge.schedules.cancel(call.identity.tenant, schedule.id, edge.clock().getTime()))) {
        const now = await found(call, schedule.id);
        const why = now.status === "pending" ? "running now" : now.status;
        throw edgeError(Code.FailedPrecondition, "SCHEDULE_NOT_PENDING", `scheduled command "${schedule.id}" cannot be cancelled: it is ${why}`, { scheduleId: schedule.id, state: now.status });
      }
      return toScheduledCommand((await edge.schedules.get(call.identity.tenant, schedule.id))!);
    },

    async listScheduledCommands(request: { pageSize: number; pageToken: string }, call: EdgeCall) {
      const identity = call.identity;
      // A caller sees the schedules whose command its scopes allow outright, and the ones it made.
      const visible = async (s: StoredSchedule) => {
        const command = edge.registry.get(s.commandType);
        const mine = identity.userId !== undefined && s.identity.userId === identity.userId;
        return mine || (command !== undefined && authorize(command.policy, identity).kind === "granted");
      };
      const { items, nextPageToken } = await page(call, "scheduled", ALL_STATUSES, request, visible);
      return { scheduledCommands: items, nextPageToken };
    },

    async listDeadLetters(request: { pageSize: number; pageToken: string }, call: EdgeCall) {
      admin(call.identity);
      const { items, nextPageToken } = await page(call, "dead", ["dead"], request, async () => true);
      return { deadLetters: items, nextPageToken };
    },

    async retryDeadLetter(request: { scheduleId: string }, call: EdgeCall) {
      admin(call.identity);
      const id = request.scheduleId;
      if (!id) throw badRequest([{ field: "schedule_id", description: "schedule_id is required" }]);
      if (!(await edge.schedules.revive(call.identity.tenant, id.slice(0, MAX_REQUEST_ID_LENGTH), edge.clock().getTime()))) return notADeadLetter(call, id);
      edge.wake?.();
      return toScheduledCommand(await found(call, id));
    },

    async discardDeadLetter(request: { scheduleId: string }, call: EdgeCall) {
      admin(call.identity);
      const id = request.scheduleId;
      if (!id) throw badRequest([{ field: "schedule_id", description: "schedule_id is required" }]);
      if (!(await edge.schedules.discard(call.identity.tenant, id.slice(0, MAX_REQUEST_ID_LENGTH), edge.clock().getTime()))) return notADeadLetter(call, id);
      return toScheduledCommand(await found(call, id));
    },
  };
}

/** Every schedule RPC answers UNIMPLEMENTED: for a service whose store keeps no schedules. */
export function noScheduleHandlers() {
  const unimplemented = async (): Promise<never> => {
    throw edgeError(Code.Unimplemented, "SCHEDULES_UNSUPPORTED", "this service's store keeps no scheduled commands");
  };
  return {
    scheduleCommand: unimplemented,
    cancelScheduledCommand: unimplemented,
    listScheduledCommands: unimplemented,
    listDeadLetters: unimplemented,
    retryDeadLetter: unimplemented,
    discardDeadLetter: unimplemented,
  };
}
