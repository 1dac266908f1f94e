import { create, toBinary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { RecordedEvent } from "../../kernel/events.js";
import {
  EventStoreService,
  ReadAllResponseSchema,
  ReadStreamResponseSchema,
  type Event,
} from "../../gen/switchyard/eventstore/v1/eventstore_pb.js";
import { Code } from "@connectrpc/connect";
import { badRequest, edgeError } from "../../edge/command-error.js";
import type { EventFeed } from "../../consumer/event-feed.js";
import type { RequestLimits } from "../../edge/limits.js";
import { withEncoding } from "../../edge/protobuf-codec.js";
import { edgeService } from "../../edge/edge-service.js";
import { requireScope } from "../../edge/query-access.js";
import { pageSize, type EventStore } from "../../store/event-store.js";
import { checkEventTypes, MAX_NAME } from "./read-limits.js";
import { subscribeHandler } from "./subscribe.js";
import type { LagBoard } from "../../consumer/lag-board.js";
import { dataObjectOf } from "./event-wire.js";

/** Most bytes a response's field besides its events takes (a uint64: tag and up to 10 bytes), rounded up. */
const RESPONSE_REST = 16;
/**
 * Most bytes an event's encoding takes for each character of its id, stream id, type, and
 * data and metadata as JSON. A string's UTF-8 is at most 3 bytes a UTF-16 unit; the data's
 * google.protobuf.Struct costs most for a list of one-digit numbers: 2 characters ("0,")
 * against 11 bytes (the element's tag and length, a double's tag and 8 bytes).
 */
const BYTES_PER_EVENT_CHAR = 6;
/** Bytes of an event's encoding no character accounts for: its page entry's tag and length, tags, lengths, revision, position, timestamp; rounded up. */
const EVENT_FRAME = 256;

/**
 * The largest event, in the characters PipelineOptions.maxEventChars counts, whose read
 * response fits in `maxMessageBytes`: a command may not write an event no read could return
 * (it would stop every reader of ReadAll at its position for good).
 */
export function largestReadableEvent(maxMessageBytes: number): number {
  return Math.max(0, Math.floor((maxMessageBytes - RESPONSE_REST - EVENT_FRAME) / BYTES_PER_EVENT_CHAR));
}

/** What the event store service reads from and is bounded by. */
export interface EventStoreServiceOptions {
  readonly store: EventStore;
  readonly feed: EventFeed;
  /** The scopes any one of which allows reading. */
  readonly readScopes: readonly string[];
  readonly limits: Pick<RequestLimits, "maxMessageBytes" | "maxSubscriptions" | "subscriptionMaxLag" | "subscriptionLagTimeoutMs">;
  /** Where open subscriptions and their lag are kept for metrics. */
  readonly subscriptions?: LagBoard;
}

/**
 * switchyard.eventstore.v1.EventStoreService: reads and subscriptions of the caller's tenant
 * only. A page ends before its response would be larger than MAX_MESSAGE_BYTES (the gRPC port
 * sends nothing larger), so a page of long events holds fewer than max_count; the caller reads
 * on from its last event.
 */
export function eventStoreServiceV1({ store, feed, readScopes, limits, subscriptions }: EventStoreServiceOptions) {
  const budget = limits.maxMessageBytes - RESPONSE_REST;
  return edgeService(EventStoreService, {
    async readStream(request, call) {
      requireScope(call.identity, ...readScopes);
      if (!request.streamId || request.streamId.length > MAX_NAME) {
        throw badRequest([{ field: "stream_id", description: `stream_id must be 1 to ${MAX_NAME} characters` }]);
      }
      const tenant = call.identity.tenant;
      const [events, revision] = await Promise.all([
        store.readStream(tenant, request.streamId, { fromRevision: safe(request.fromRevision), maxCount: request.maxCount }),
        store.streamRevision(tenant, request.streamId),
      ]);
      if (revision === 0) {
        throw edgeError(
          Code.NotFound,
          "STREAM_NOT_FOUND",
          `stream "${request.streamId}" does not exist; a stream id is the aggregate's name, a dash and its id, e.g. "booking-B1"`,
          { streamId: request.streamId },
        );
      }
      const page = fitting(events, budget);
      return pageResponse(ReadStreamResponseSchema, page, { streamRevision: BigInt(revision) });
    },
    async readAll(request, call) {
      requireScope(call.identity, ...readScopes);
      checkEventTypes(request.eventTypes);
      const from = Math.max(1, safe(request.fromPosition));
      const limit = pageSize(request.maxCount);
      // Bounded by the head read first, so a page that ends short has scanned up to it.
      const head = await store.headPosition();
      const events = await store.readAll(call.identity.tenant, { fromPosition: from, toPosition: head, maxCount: limit, eventTypes: request.eventTypes });
      const page = fitting(events, budget);
      const last = page.events.at(-1);
      // A page cut short by size or count goes on after its last event; one that found everything up to the head, after the head.
      const scannedTo = page.events.length < events.length || events.length === limit ? Number(last!.globalPosition) : Math.max(head, from - 1);
      return pageResponse(ReadAllResponseSchema, page, { nextPosition: BigInt(scannedTo + 1) });
    },
    subscribe: subscribeHandler({ store, feed, readScopes, limits, board: subscriptions }),
  });
}

/** A page of events and their encoding as field 1 of a read's response. */
interface Page {
  readonly events: Event[];
  readonly bytes: Uint8Array;
}

/**
 * The events, up to the last one whose encoding keeps the response within `budget` bytes,
 * found by encoding them once and walking the entries. The first is always kept, so a
 * reader paging on always moves forward (an event larger than the whole limit, which the
 * service does not write (largestReadableEvent) but a store written under a larger
 * MAX_MESSAGE_BYTES may hold, is answered RESOURCE_EXHAUSTED, RESPONSE_TOO_LARGE).
 */
function fitting(events: readonly RecordedEvent[], budget: number): Page {
  const whole = create(ReadStreamResponseSchema, { events: events.map(eventToProto) });
  const bytes = toBinary(ReadStreamResponseSchema, whole);
  const reader = new BinaryReader(bytes);
  let count = 0;
  let end = 0;
  while (reader.pos < reader.len) {
    reader.tag();
    reader.skip(WireType.LengthDelimited);
    if (reader.pos > budget && count > 0) break;
    count++;
    end = reader.pos;
  }
  return { events: whole.events.slice(0, count), bytes: bytes.subarray(0, end) };
}

/**
 * A read's response: the page's events and the other field (`rest`), with its encoding
 * attached: that field's bytes after the page's (both responses hold their events as field 1).
 */
function pageResponse<Desc extends typeof ReadStreamResponseSchema | typeof ReadAllResponseSchema>(
  schema: Desc,
  page: Page,
  rest: MessageInitShape<Desc>,
): MessageShape<Desc> {
  const response = create(schema, rest);
  const restBytes = toBinary(schema, response);
  response.events = page.events;
  return withEncoding(response, Buffer.concat([page.bytes, restBytes]));
}

/** A uint64 from the wire as a number, saturating past the largest exact one. */
function safe(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/** An event as the read responses carry it. */
export function eventToProto(event: RecordedEvent) {
  const m = event.metadata;
  const data = event.data;
  return {
    id: event.id,
    streamId: event.streamId,
    revision: BigInt(event.revision),
    globalPosition: BigInt(event.position),
    type: event.type,
    data: dataObjectOf(data),
    metadata: {
      commandId: m.commandId,
      commandType: m.commandType,
      requestId: m.requestId,
      correlationId: m.correlationId,
      causationId: m.causationId,
      userId: m.userId ?? "",
      tenant: m.tenant,
      clientId: m.clientId ?? "",
      timestamp: timestampFromDate(new Date(m.timestamp)),
      commandCausationId: m.commandCausationId ?? "",
      traceparent: m.traceparent ?? "",
    },
  };
}
