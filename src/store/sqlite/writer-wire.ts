import type { AppendRequest } from "../event-store.js";
import type { Written } from "../group-commit.js";
import type { WriteRequest } from "./batch-writer.js";

/*
 * What crosses between the SQLite store's threads: flat arrays of strings and numbers, not
 * the WriteRequest and Written objects the writer works with. postMessage's structured clone
 * writes out every property name of every object it copies, and builds every object again on
 * the other side. A batch of 32 RecordPayment appends and its answer cost 5.8–7.7 µs an
 * append as objects, 2.8–4.5 µs as flat arrays (both threads together; bench/HISTORY.md,
 * seventh round).
 */

/**
 * An append on its way to the writer: tenant, stream id, expected revision, the event count
 * and each event's id, type, data and metadata; then 1 and the request record's five fields,
 * or 0; then the JSON of the schedules, or 0; then 1 and the snapshot's revision, version
 * and state, or 0.
 */
export type WireAppend = (string | number)[];

/**
 * Serializes an append's JSON values into its wire form; throws (before anything is queued)
 * for data JSON cannot hold.
 */
export function toWire(request: AppendRequest): WireAppend {
  const { events, request: record, snapshot } = request;
  const wire: WireAppend = [request.tenant, request.streamId, request.expectedRevision, events.length];
  // A command's events share one metadata object: it is serialized once.
  let metadata: unknown;
  let metadataJson = "";
  for (const e of events) {
    if (e.metadata !== metadata) [metadata, metadataJson] = [e.metadata, JSON.stringify(e.metadata)];
    wire.push(e.id, e.type, JSON.stringify(e.data), metadataJson);
  }
  if (record) wire.push(1, record.requestId, record.commandType, record.aggregateId, record.fingerprint, JSON.stringify(record.result));
  else wire.push(0);
  wire.push(request.schedules?.length ? JSON.stringify(request.schedules) : 0);
  if (snapshot) wire.push(1, snapshot.revision, snapshot.version, JSON.stringify(snapshot.state));
  else wire.push(0);
  return wire;
}

/** The length of the snapshot's JSON in a wire form, undefined when it has none (the last entry is then the 0 flag). */
export function snapshotSizeOf(wire: WireAppend): number | undefined {
  const last = wire[wire.length - 1];
  return typeof last === "string" ? last.length : undefined;
}

/** The append a wire form holds (on the writer's side). */
export function fromWire(wire: WireAppend): WriteRequest {
  const s = (i: number) => wire[i] as string;
  const n = (i: number) => wire[i] as number;
  const events: [string, string, string, string][] = [];
  let i = 4;
  for (let e = 0; e < n(3); e++, i += 4) events.push([s(i), s(i + 1), s(i + 2), s(i + 3)]);
  let request: WriteRequest["request"];
  if (wire[i++] === 1) {
    request = { requestId: s(i), commandType: s(i + 1), aggregateId: s(i + 2), fingerprint: s(i + 3), result: s(i + 4) };
    i += 5;
  }
  const schedules = wire[i++] || undefined;
  const snapshot = wire[i++] === 1 ? { revision: n(i), version: n(i + 1), state: s(i + 2) } : undefined;
  const write: WriteRequest = { tenant: s(0), streamId: s(1), expectedRevision: n(2), events, request, snapshot };
  return schedules ? { ...write, schedules: schedules as string } : write;
}

/**
 * A batch's outcomes on their way back, one after another: APPENDED, the revision, the
 * position count and the positions; CONFLICT and the actual revision; REQUEST_TAKEN; FAILED,
 * the failure's reason ("" for none) and its message.
 */
export type WireWritten = (string | number)[];

const APPENDED = 0;
const CONFLICT = 1;
const REQUEST_TAKEN = 2;
const FAILED = 3;

export function writtenToWire(written: readonly Written[]): WireWritten {
  const wire: WireWritten = [];
  for (const w of written) {
    if ("failure" in w) {
      wire.push(FAILED, w.failure.reason ?? "", w.failure.message);
      continue;
    }
    const o = w.outcome;
    if (o.kind === "appended") wire.push(APPENDED, o.revision, o.positions.length, ...o.positions);
    else if (o.kind === "conflict") wire.push(CONFLICT, o.actualRevision);
    else wire.push(REQUEST_TAKEN);
  }
  return wire;
}

export function writtenFromWire(wire: WireWritten): Written[] {
  const written: Written[] = [];
  for (let i = 0; i < wire.length; ) {
    switch (wire[i++]) {
      case APPENDED: {
        const revision = wire[i] as number;
        const count = wire[i + 1] as number;
        i += 2;
        written.push({ outcome: { kind: "appended", revision, positions: wire.slice(i, (i += count)) as number[] } });
        break;
      }
      case CONFLICT:
        written.push({ outcome: { kind: "conflict", actualRevision: wire[i++] as number } });
        break;
      case REQUEST_TAKEN:
        written.push({ outcome: { kind: "request-taken" } });
        break;
      case FAILED: {
        const reason = wire[i] as string;
        written.push({ failure: reason ? { reason, message: wire[i + 1] as string } : { message: wire[i + 1] as string } });
        i += 2;
        break;
      }
      default:
        throw new Error(`the writer's answer holds an unknown outcome code at ${i - 1}: ${String(wire[i - 1])}`);
    }
  }
  return written;
}
