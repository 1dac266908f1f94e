import { after, it } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { startTestPostgres } from "../support/postgres.js";
import { scheduleStoreContract } from "./schedule-contract.js";

// Every await comes before the first test: node:test runs a file's `after` hooks as soon as the
// tests registered so far have ended, so a server stopped there would be gone for later ones.
const started = await startTestPostgres();
const dir = mkdtempSync(join(tmpdir(), "switchyard-schedules-"));
after(() => rmSync(dir, { recursive: true, force: true }));

scheduleStoreContract("SQLite :memory:", () => openSqliteStore({ path: ":memory:" }));
scheduleStoreContract("SQLite file", () => openSqliteStore({ path: join(dir, "schedules.db") }));

if ("skip" in started) {
  it("PostgreSQL schedules", { skip: started.skip }, () => {});
} else {
  const { postgres } = started;
  after(() => postgres.stop());
  scheduleStoreContract("PostgreSQL", async () => openPostgresStore({ connectionString: await postgres.database("schedules") }));
}
