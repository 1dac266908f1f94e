import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { eventStoreContract } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));

eventStoreContract("SQLite file, synchronous=FULL", () => openSqliteStore({ path: join(dir, "events.db") }));
eventStoreContract("SQLite :memory:", () => openSqliteStore({ path: ":memory:" }));
