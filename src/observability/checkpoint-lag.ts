import type { ConsumerLag } from "../consumer/lag-board.js";
import type { EventStore } from "../store/event-store.js";

/**
 * Reads a checkpointed consumer's lag from the database, at each scrape: events behind is
 * the head minus its checkpoint; seconds behind is 0 when caught up, else the age of the
 * first event it has not committed (its metadata timestamp, on `clock`). Three indexed
 * reads, whichever process runs the consumer, so every replica shows the same lag. The
 * store must keep consumers (`consumerCheckpoint`).
 */
export function checkpointLag(store: Pick<EventStore, "headPosition" | "readAllTenants" | "consumerCheckpoint">, consumer: string, clock: () => Date): () => Promise<ConsumerLag> {
  return async () => {
    const [head, checkpoint] = await Promise.all([store.headPosition(), store.consumerCheckpoint!(consumer)]);
    if (checkpoint >= head) return { events: 0, seconds: 0 };
    const [next] = await store.readAllTenants({ fromPosition: checkpoint + 1, maxCount: 1 });
    const appendedAt = next ? Date.parse(next.event.metadata.timestamp) : NaN;
    const seconds = Number.isNaN(appendedAt) ? 0 : Math.max(0, (clock().getTime() - appendedAt) / 1000);
    return { events: head - checkpoint, seconds };
  };
}
