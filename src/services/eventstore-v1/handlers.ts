import { create, toBinary, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { RecordedEvent } from "../../kernel/events.js";
import { EventSchema, EventStoreService, type Event } from "../../gen/switchyard/eventstore/v1/eventstore_pb.js";
import { DEFAULT_LIMITS } from "../../edge/limits.js";
import { badRequest } from "../../edge/command-error.js";
import { edgeService } from "../../edge/edge-service.js";
import { requireScope } from "../../edge/query-access.js";
import type { EventStore } from "../../store/event-store.js";

/** Longest stream id or event type accepted in a read. */
const MAX_NAME = 200;
/** Most event types one ReadAll may filter on. */
const MAX_EVENT_TYPES = 100;
/** Most bytes an event's field tag and length add to a response. */
const EVENT_FRAMING = 6;
/** Most bytes a response's other field takes (a uint64: tag and up to 10 bytes), rounded up. */
const RESPONSE_REST = 16;

/**
 * switchyard.eventstore.v1.EventStoreService: reads of the caller's tenant only.
 * `readScopes` are the scopes any one of which allows reading. A page ends before its
 * response would be larger than `maxMessageBytes` (the gRPC port sends nothing larger), so
 * a page of long events holds fewer than max_count; the caller reads on from its last event.
 */
export function eventStoreServiceV1(store: EventStore, readScopes: readonly string[], maxMessageBytes = DEFAULT_LIMITS.maxMessageBytes) {
  const budget = maxMessageBytes - RESPONSE_REST;
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
      return { events: fitting(events, budget), streamRevision: BigInt(revision) };
    },
    async readAll(request, call) {
      requireScope(call.identity, ...readScopes);
      if (request.eventTypes.length > MAX_EVENT_TYPES) {
        throw badRequest([{ field: "event_types", description: `at most ${MAX_EVENT_TYPES} event types, got ${request.eventTypes.length}` }]);
      }
      const tooLong = request.eventTypes.findIndex((t) => t.length > MAX_NAME);
      if (tooLong >= 0) throw badRequest([{ field: `event_types[${tooLong}]`, description: `event type longer than ${MAX_NAME} characters` }]);
      const events = await store.readAll(call.identity.tenant, {
        fromPosition: safe(request.fromPosition),
        maxCount: request.maxCount,
        eventTypes: request.eventTypes,
      });
      const page = fitting(events, budget);
      const last = page.at(-1);
      return { events: page, nextPosition: last ? last.globalPosition + 1n : request.fromPosition };
    },
  });
}

/**
 * The events, as messages, up to the last one whose encoding keeps the response within
 * `budget` bytes. The first is always kept, so a reader paging on always moves forward (an
 * event larger than the whole limit, which only a payload near MAX_MESSAGE_BYTES makes,
 * is answered RESOURCE_EXHAUSTED, RESPONSE_TOO_LARGE).
 */
function fitting(events: readonly RecordedEvent[], budget: number): Event[] {
  const page: Event[] = [];
  let bytes = 0;
  for (const event of events) {
    const message = create(EventSchema, toProto(event));
    bytes += toBinary(EventSchema, message).length + EVENT_FRAMING;
    if (bytes > budget && page.length > 0) break;
    page.push(message);
  }
  return page;
}

/** A uint64 from the wire as a number, saturating past the largest exact one. */
function safe(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

function toProto(event: RecordedEvent) {
  const m = event.metadata;
  const data = event.data;
  return {
    id: event.id,
    streamId: event.streamId,
    revision: BigInt(event.revision),
    globalPosition: BigInt(event.position),
    type: event.type,
    data: typeof data === "object" && data !== null && !Array.isArray(data) ? (data as JsonObject) : { value: data as JsonValue },
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
    },
  };
}
