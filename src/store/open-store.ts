import type { EventStore } from "./event-store.js";
import type { GroupCommitOptions } from "./group-commit.js";
import { openPostgresStore } from "./postgres/postgres-store.js";
import { openSqliteStore } from "./sqlite/sqlite-store.js";

/** Store settings taken from the configuration. */
export interface StoreConfig {
  readonly DATABASE_URL: string;
  readonly DATABASE_POOL_SIZE: number;
  readonly SQLITE_SYNCHRONOUS: "FULL" | "NORMAL";
  readonly REQUEST_RETENTION_S: number;
}

/** What a store tells its opener while it runs. */
export interface StoreEvents {
  /** Deleting expired request records started failing (why), or works again (undefined). */
  readonly onPruningFailure?: (failure: string | undefined) => void;
  /** Told of every group-commit batch (group-commit.ts). */
  readonly onBatch?: GroupCommitOptions["onBatch"];
}

/** The SQLite path a DATABASE_URL names (`file:<path>`, or ":memory:"), or undefined for another store. */
export function sqlitePathOf(url: string): string | undefined {
  return url.startsWith("file:") ? url.slice("file:".length) : undefined;
}

/** Opens the store a DATABASE_URL names: `file:<path>` or `file::memory:` for SQLite, `postgres://…` for PostgreSQL. */
export async function openStore(config: StoreConfig, events: StoreEvents = {}): Promise<EventStore> {
  const url = config.DATABASE_URL;
  const path = sqlitePathOf(url);
  if (path !== undefined) {
    return openSqliteStore({
      path,
      synchronous: config.SQLITE_SYNCHRONOUS,
      requestRetentionMs: config.REQUEST_RETENTION_S * 1000,
      onPruningFailure: events.onPruningFailure,
      onBatch: events.onBatch,
    });
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    return openPostgresStore({
      connectionString: url,
      poolSize: config.DATABASE_POOL_SIZE,
      requestRetentionMs: config.REQUEST_RETENTION_S * 1000,
      onPruningFailure: events.onPruningFailure,
      onBatch: events.onBatch,
    });
  }
  throw new Error(`DATABASE_URL: no store for "${url.split(":")[0]}" URLs in this build`);
}
