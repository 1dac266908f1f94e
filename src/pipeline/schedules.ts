// Time-ordered ids: the schedules table's pages (by id) follow the order they were made in.
import { v7 as uuidv7 } from "uuid";
import type { AnyCommand } from "../kernel/command.js";
import type { Acceptance } from "../kernel/decision.js";
import type { DomainEvent } from "../kernel/events.js";
import type { Identity } from "../kernel/identity.js";
import { runAtOf } from "../kernel/schedule.js";
import type { NewSchedule } from "../store/schedule-store.js";

/** Who made the schedules of one decision. */
export interface ScheduleOrigin {
  readonly identity: Identity;
  readonly correlationId: string;
  /** The command whose decision made them. */
  readonly commandId: string;
  /** The command's trace context, which the schedules' runs continue. */
  readonly traceparent?: string;
}

/**
 * The schedules an acceptance asks for, as the store keeps them; undefined when it asks for
 * none. A schedule of an unregistered command type is the decider's bug: it throws, and the
 * command fails with an error id instead of storing something that can never run.
 */
export function schedulesOf(
  decision: Acceptance<DomainEvent>,
  commands: ReadonlyMap<string, AnyCommand>,
  origin: ScheduleOrigin,
  now: Date,
): NewSchedule[] | undefined {
  if (!decision.schedule?.length) return undefined;
  return decision.schedule.map((s) => {
    if (!commands.has(s.type)) throw new TypeError(`a decision scheduled "${s.type}", which is not a registered command`);
    return {
      id: uuidv7(),
      commandType: s.type,
      aggregateId: s.aggregateId,
      payload: s.payload,
      runAt: runAtOf(s, now),
      identity: origin.identity,
      correlationId: origin.correlationId,
      causationId: origin.commandId,
      createdAt: now.getTime(),
      ...(origin.traceparent === undefined ? {} : { traceparent: origin.traceparent }),
    };
  });
}
