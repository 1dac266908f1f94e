import type { RecordedEvent } from "../../src/kernel/events.js";

/**
 * An event's size as PipelineOptions.maxEventChars counts it (its id, stream id, type, and the
 * JSON of its data and metadata), worked out here from the event as stored, apart from the
 * pipeline's own count, so that the tests check that count rather than repeat it.
 */
export function eventChars(event: RecordedEvent): number {
  return event.id.length + event.streamId.length + event.type.length + JSON.stringify(event.data).length + JSON.stringify(event.metadata).length;
}
