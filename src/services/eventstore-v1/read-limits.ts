import { badRequest } from "../../edge/command-error.js";

/** Longest stream id, stream id prefix or event type accepted in a read. */
export const MAX_NAME = 200;
/** Most event types one read or subscription may filter on. */
export const MAX_EVENT_TYPES = 100;

/** INVALID_ARGUMENT naming `event_types` when there are too many or one is too long. */
export function checkEventTypes(eventTypes: readonly string[]): void {
  if (eventTypes.length > MAX_EVENT_TYPES) {
    throw badRequest([{ field: "event_types", description: `at most ${MAX_EVENT_TYPES} event types, got ${eventTypes.length}` }]);
  }
  const tooLong = eventTypes.findIndex((t) => t.length > MAX_NAME);
  if (tooLong >= 0) throw badRequest([{ field: `event_types[${tooLong}]`, description: `event type longer than ${MAX_NAME} characters` }]);
}
