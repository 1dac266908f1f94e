import type { EventMetadata, RecordedEvent } from "../kernel/events.js";
import type { RequestRecord } from "./event-store.js";

/*
 * The rows both SQL stores read, with the columns they share; each store parses its own
 * JSON and numbers (SQLite hands back text, PostgreSQL parsed json and bigint strings).
 */

/** An events row, before its JSON and position are read. */
export interface EventRow<Json, Position> {
  readonly position: Position;
  readonly stream_id: string;
  readonly revision: number;
  readonly id: string;
  readonly type: string;
  readonly data: Json;
  readonly metadata: Json;
}

/** A requests row, before its JSON is read. */
export interface RequestRow<Json, Positions> {
  readonly request_id: string;
  readonly command_type: string;
  readonly aggregate_id: string;
  readonly fingerprint: string;
  readonly result: Json;
  readonly positions: Positions;
}

/** The event a row holds, given its data, metadata and position as read. */
export function recordedEventOf(row: EventRow<unknown, unknown>, position: number, data: unknown, metadata: EventMetadata): RecordedEvent {
  return { id: row.id, streamId: row.stream_id, revision: row.revision, position, type: row.type, data, metadata };
}

/** The request record a row holds, given its result and positions as read. */
export function requestRecordOf(row: RequestRow<unknown, unknown>, result: unknown, positions: readonly number[]): RequestRecord {
  return { requestId: row.request_id, commandType: row.command_type, aggregateId: row.aggregate_id, fingerprint: row.fingerprint, result, positions };
}
