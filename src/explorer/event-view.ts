import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Event } from "../gen/switchyard/eventstore/v1/eventstore_pb.js";

/** What the streams panel knows of one stream from the latest of its events it has seen. */
export interface StreamSummary {
  readonly streamId: string;
  /** Also the number of events in the stream up to the latest seen: revisions are gapless from 1. */
  readonly revision: bigint;
  readonly lastType: string;
  readonly lastPosition: bigint;
  readonly lastTime: string;
}

/**
 * The streams as the events seen so far describe them, `event` added. Pages read from the
 * start and the live feed deliver events in no common order and may both deliver one, so a
 * stream keeps whichever of its events has the highest revision.
 */
export function noteEvent(streams: Map<string, StreamSummary>, event: Event): void {
  const known = streams.get(event.streamId);
  if (known && known.revision >= event.revision) return;
  streams.set(event.streamId, {
    streamId: event.streamId,
    revision: event.revision,
    lastType: event.type,
    lastPosition: event.globalPosition,
    lastTime: timeOf(event),
  });
}

/** When the event was written, as an ISO time without fractions ("2026-12-07T10:00:00Z"), or "" when unknown. */
export function timeOf(event: Event): string {
  return instantText(event.metadata?.timestamp);
}

/** A timestamp as an ISO time without fractions ("2026-12-07T10:00:00Z"), or "" when there is none. */
export function instantText(stamp: Timestamp | undefined): string {
  return stamp ? timestampDate(stamp).toISOString().replace(/\.\d+Z$/, "Z") : "";
}

/** The time of day the event was written ("10:00:00Z"), for the live tail, where the day is today's. */
export function clockOf(event: Event): string {
  return timeOf(event).slice(11);
}

/**
 * The command that wrote the event, as its type and the end of its id: "booking.BookRoom …2522b5e3".
 * The end, because command ids are UUIDv7s, whose first digits are the time and alike for
 * commands sent close together.
 */
export function causedBy(event: Event): string {
  const m = event.metadata;
  if (!m?.commandType) return "";
  return m.commandId ? `${m.commandType} …${m.commandId.slice(-8)}` : m.commandType;
}

/** The event's metadata as label and value pairs, the empty ones left out, in the order a reader follows a cause. */
export function metadataEntries(event: Event): Array<[string, string]> {
  const m = event.metadata;
  if (!m) return [];
  const entries: Array<[string, string]> = [
    ["command", m.commandType],
    ["command id", m.commandId],
    ["request id", m.requestId],
    ["correlation id", m.correlationId],
    ["causation id", m.causationId],
    ["command caused by", m.commandCausationId],
    ["user", m.userId],
    ["tenant", m.tenant],
    ["client", m.clientId],
    ["time", timeOf(event)],
  ];
  return entries.filter(([, value]) => value !== "");
}

/** The event's data as indented JSON. */
export function dataText(event: Event): string {
  return JSON.stringify(event.data ?? {}, null, 2);
}
