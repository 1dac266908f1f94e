import { after, it } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { startTestPostgres } from "../support/postgres.js";
import { scheduleStoreContract } from "./schedule-contract.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-schedules-"));
after(() => rmSync(dir, { recursive: true, force: true }));

scheduleStoreContract("SQLite :memory:", () => openSqliteStore({ path: ":memory:" }));
scheduleStoreContract("SQLite file", () => openSqliteStore({ path: join(dir, "schedules.db") }));

const started = await startTestPostgres();
if ("skip" in started) {
  it("PostgreSQL schedules", { skip: started.skip }, () => {});
} else {
  after(() => started.postgres.stop());
  const url = await started.postgres.database("schedules");
  scheduleStoreContract("PostgreSQL", () => openPostgresStore({ connectionString: url }));
}
