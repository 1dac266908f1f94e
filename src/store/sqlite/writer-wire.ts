import type { EventMetadata } from "../../kernel/events.js";
import type { AppendRequest, TenantEvent } from "../event-store.js";
import type { Written } from "../group-commit.js";
import type { OtherStreamWrite, WriteRequest } from "./batch-writer.js";
import { wireDocumentOf, type WireDocument } from "./documents.js";

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
 * and each event's id, type, data and metadata; the count of other streams and for each its
 * stream id, expected revision, events as above and snapshot as below; then 1 and the request
 * record's five fields, or 0; then the JSON of the schedules, or 0; then the document count
 * and each document's collection, id, expected version (-1: must be new), JSON ("null"
 * deletes) and field values' JSON; then 1 and the snapshot's revision, version and state, or
 * 0 (last, so that snapshotSizeOf finds it).
 */
export type WireAppend = (string | number)[];

/**
 * Serializes an append's JSON values into its wire form; throws (before anything is queued)
 * for data JSON cannot hold.
 */
export function toWire(request: AppendRequest): WireAppend {
  const { events, request: record, snapshot } = request;
  const wire: WireAppend = [request.tenant, request.streamId, request.expectedRevision];
  // A command's events share one metadata object: it is serialized once.
  let metadata: unknown;
  let metadataJson = "";
  const pushEvents = (list: AppendRequest["events"]) => {
    wire.push(list.length);
    for (const e of list) {
      if (e.metadata !== metadata) [metadata, metadataJson] = [e.metadata, JSON.stringify(e.metadata)];
      wire.push(e.id, e.type, JSON.stringify(e.data), metadataJson);
    }
  };
  pushEvents(events);
  const others = request.otherStreams ?? [];
  wire.push(others.length);
  for (const other of others) {
    wire.push(other.streamId, other.expectedRevision);
    pushEvents(other.events);
    if (other.snapshot) wire.push(1, other.snapshot.revision, other.snapshot.version, JSON.stringify(other.snapshot.state));
    else wire.push(0);
  }
  if (record) wire.push(1, record.requestId, record.commandType, record.aggregateId, record.fingerprint, JSON.stringify(record.result));
  else wire.push(0);
  wire.push(request.schedules?.length ? JSON.stringify(request.schedules) : 0);
  const documents = request.documents ?? [];
  wire.push(documents.length);
  for (const d of documents) wire.push(...wireDocumentOf(d));
  if (snapshot) wire.push(1, snapshot.revision, snapshot.version, JSON.stringify(snapshot.state));
  else wire.push(0);
  return wire;
}

/** The length of the snapshot's JSON in a wire form, undefined when it has none (the last entry is then the 0 flag). */
export function snapshotSizeOf(wire: WireAppend): number | undefined {
  const last = wire[wire.length - 1];
  return typeof last === "string" ? last.length : undefined;
}

/**
 * The events a batch's appends wrote, as the commit feed keeps them: each appended wire
 * form's own stream's events, then each other stream's, at the positions the writer gave
 * them, parsed from the JSON they were stored as. So the feed of the process that committed
 * them need not read them back.
 */
export function committedEventsOf(batch: readonly WireAppend[], written: readonly Written[]): TenantEvent[] {
  // It walks the events itself: fromWire builds the whole request, three times the cost on this per-commit path.
  const committed: TenantEvent[] = [];
  batch.forEach((wire, b) => {
    const w = written[b];
    if (!("outcome" in w) || w.outcome.kind !== "appended") return;
    const { positions } = w.outcome;
    const tenant = wire[0] as string;
    let p = 0;
    let i = 3;
    const take = (streamId: string, expectedRevision: number) => {
      // A command's events share one metadata JSON: parsed once.
      let metadataJson = "";
      let metadata = {} as EventMetadata;
      for (let e = 0, count = wire[i++] as number; e < count; e++, i += 4) {
        const data = wire[i + 2] as string;
        const json = wire[i + 3] as string;
        if (json !== metadataJson) [metadataJson, metadata] = [json, JSON.parse(json) as EventMetadata];
        const event = { id: wire[i] as string, streamId, revision: expectedRevision + e + 1, position: positions[p++], type: wire[i + 1] as string, data: JSON.parse(data), metadata };
        committed.push({ tenant, event, size: data.length + json.length });
      }
    };
    take(wire[1] as string, wire[2] as number);
    for (let others = wire[i++] as number; others > 0; others--) {
      const streamId = wire[i] as string;
      const expectedRevision = wire[i + 1] as number;
      i += 2;
      take(streamId, expectedRevision);
      if (wire[i++] === 1) i += 3; // the other stream's snapshot
    }
  });
  return committed;
}

/** The append a wire form holds (on the writer's side). */
export function fromWire(wire: WireAppend): WriteRequest {
  const s = (i: number) => wire[i] as string;
  const n = (i: number) => wire[i] as number;
  let i = 3;
  const readEvents = () => {
    const list: [string, string, string, string][] = [];
    const count = n(i++);
    for (let e = 0; e < count; e++, i += 4) list.push([s(i), s(i + 1), s(i + 2), s(i + 3)]);
    return list;
  };
  const readSnapshot = () => {
    if (wire[i++] !== 1) return undefined;
    const snapshot = { revision: n(i), version: n(i + 1), state: s(i + 2) };
    i += 3;
    return snapshot;
  };
  const events = readEvents();
  const otherStreams: OtherStreamWrite[] = [];
  for (let count = n(i++); count > 0; count--) {
    const streamId = s(i);
    const expectedRevision = n(i + 1);
    i += 2;
    otherStreams.push({ streamId, expectedRevision, events: readEvents(), snapshot: readSnapshot() });
  }
  let request: WriteRequest["request"];
  if (wire[i++] === 1) {
    request = { requestId: s(i), commandType: s(i + 1), aggregateId: s(i + 2), fingerprint: s(i + 3), result: s(i + 4) };
    i += 5;
  }
  const schedules = wire[i++] || undefined;
  const documents: WireDocument[] = [];
  for (let d = 0, count = n(i++); d < count; d++, i += 5) documents.push([s(i), s(i + 1), n(i + 2), s(i + 3), s(i + 4)]);
  const snapshot = readSnapshot();
  const write: WriteRequest = { tenant: s(0), streamId: s(1), expectedRevision: n(2), events, request, snapshot };
  return {
    ...write,
    ...(otherStreams.length > 0 ? { otherStreams } : {}),
    ...(schedules ? { schedules: schedules as string } : {}),
    ...(documents.length > 0 ? { documents } : {}),
  };
}

/**
 * A batch's outcomes on their way back, one after another: APPENDED, the revision, the
 * position count and the positions; CONFLICT, the actual revision and the stream id of the
 * other stream it is on ("" for the append's own); REQUEST_TAKEN; FAILED, the failure's reason
 * ("" for none) and its message; DOCUMENT_CONFLICT, the revision, and the document's
 * collection and id.
 */
export type WireWritten = (string | number)[];

const APPENDED = 0;
const CONFLICT = 1;
const REQUEST_TAKEN = 2;
const FAILED = 3;
const DOCUMENT_CONFLICT = 4;

export function writtenToWire(written: readonly Written[]): WireWritten {
  const wire: WireWritten = [];
  for (const w of written) {
    if ("failure" in w) {
      wire.push(FAILED, w.failure.reason ?? "", w.failure.message);
      continue;
    }
    const o = w.outcome;
    if (o.kind === "appended") wire.push(APPENDED, o.revision, o.positions.length, ...o.positions);
    else if (o.kind === "conflict" && o.document) wire.push(DOCUMENT_CONFLICT, o.actualRevision, o.document.collection, o.document.id);
    else if (o.kind === "conflict") wire.push(CONFLICT, o.actualRevision, o.streamId ?? "");
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
      case CONFLICT: {
        const actualRevision = wire[i] as number;
        const streamId = wire[i + 1] as string;
        i += 2;
        written.push({ outcome: streamId ? { kind: "conflict", actualRevision, streamId } : { kind: "conflict", actualRevision } });
        break;
      }
      case DOCUMENT_CONFLICT:
        written.push({ outcome: { kind: "conflict", actualRevision: wire[i] as number, document: { collection: wire[i + 1] as string, id: wire[i + 2] as string } } });
        i += 3;
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
