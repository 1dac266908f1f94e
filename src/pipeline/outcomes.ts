import { copyWith } from "../kernel/copy-with.js";
import type { AnyCommand } from "../kernel/command.js";
import { REPLAYABLE, resultOf, type CommandResult } from "../kernel/result.js";
import type { RequestRecord } from "../store/event-store.js";
import type { Prepared } from "./prepare.js";

// The results an attempt answers with beyond the decision's own, and what a request id keeps of them.

/** The answer when a stream the command decided over is not at the revision expected: its own, or a related one named. */
export function conflict(p: Prepared, expectedRevision: number, actualRevision: number, otherStream?: string): CommandResult {
  return resultOf(p.base, {
    status: "conflict",
    expectedRevision,
    actualRevision,
    message: `${otherStream ? `related stream ${otherStream}` : "stream"} is at revision ${actualRevision}, expected ${expectedRevision}`,
  });
}

/** True when a result is the command's settled answer, kept under its request id for replay. */
export function settled(command: AnyCommand, result: CommandResult): boolean {
  if (!REPLAYABLE.has(result.status)) return false;
  return result.status !== "rejected" || !command.transientRejections?.includes(result.code);
}

/** Fills in what only the store knows: the global positions of the events written. */
export function withPositions(result: CommandResult, positions: readonly number[]): CommandResult {
  if (result.status !== "accepted" || positions.length === 0) return result;
  return copyWith(result, {
    position: positions[positions.length - 1],
    events: result.events.map((e, i) => (e.streamId === undefined ? { id: e.id, type: e.type, revision: e.revision, position: positions[i] } : copyWith(e, { position: positions[i] }))),
  });
}

export function recordOf(p: Prepared, result: CommandResult): Omit<RequestRecord, "positions"> {
  return { requestId: p.requestId!, commandType: p.command.type, aggregateId: p.aggregateId, fingerprint: p.fingerprint, result };
}
