import type { AnyCommand } from "../kernel/command.js";
import type { EventMetadata } from "../kernel/events.js";
import type { NewEvent } from "../store/event-store.js";
import type { Prepared } from "./prepare.js";

// What an accepted decision writes besides its events' data: their metadata, the size check, and when a snapshot is due.

/**
 * Why one of a command's events is larger than `maxChars` (see PipelineOptions.maxEventChars),
 * or undefined when none is or there is no limit. The events share one metadata object, measured once.
 */
export function oversized(events: readonly NewEvent[], streamId: string, maxChars: number | undefined): string | undefined {
  if (maxChars === undefined || events.length === 0) return undefined;
  const shared = streamId.length + JSON.stringify(events[0].metadata).length;
  for (const e of events) {
    const chars = shared + e.id.length + e.type.length + (JSON.stringify(e.data)?.length ?? 0);
    if (chars > maxChars) return `the command would write a ${e.type} event of ${chars} characters, over the ${maxChars} an event may hold`;
  }
  return undefined;
}

export function metadataOf(p: Prepared, tenant: string, now: Date): EventMetadata {
  return {
    commandId: p.base.commandId,
    commandType: p.command.type,
    requestId: p.requestId ?? p.base.commandId,
    correlationId: p.base.correlationId,
    causationId: p.base.commandId,
    ...(p.causationId === undefined ? {} : { commandCausationId: p.causationId }),
    userId: p.identity.userId,
    tenant,
    clientId: p.identity.clientId,
    timestamp: now.toISOString(),
    ...(p.traceparent === undefined ? {} : { traceparent: p.traceparent }),
    ...(p.reactionDepth === undefined ? {} : { reactionDepth: p.reactionDepth }),
  };
}

/**
 * How much snapshot a command may write, spread over the events since the last one: the
 * snapshot's JSON length per event. About one small event (a PaymentRecorded and its
 * metadata are ~500 characters), so snapshots at most double what a command writes for its
 * events, and a load from a snapshot replays events of at most about twice its length.
 */
const SNAPSHOT_SIZE_PER_EVENT = 512;

/**
 * A snapshot when the append from `before` to `after` crosses a multiple of the spacing: the
 * aggregate's snapshotEvery, doubled while the stream's last snapshot (`lastSize`, when this
 * process saved or loaded it) is more than SNAPSHOT_SIZE_PER_EVENT per event of it. A state that grows
 * with its stream, as a booking's payment ids do, is then saved less often as it grows,
 * instead of costing every command more (bench/HISTORY.md, twelfth round).
 */
export function snapshotDue(aggregate: AnyCommand["aggregate"], before: number, after: number, state: unknown, lastSize: number | undefined) {
  const every = aggregate.snapshotEvery;
  if (every <= 0) return undefined;
  let spacing = every;
  while (lastSize !== undefined && lastSize > spacing * SNAPSHOT_SIZE_PER_EVENT) spacing *= 2;
  if (Math.floor(after / spacing) === Math.floor(before / spacing)) return undefined;
  return { revision: after, version: aggregate.snapshotVersion, state };
}
