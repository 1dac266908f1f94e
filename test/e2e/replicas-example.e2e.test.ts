import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { it } from "node:test";
import { runReplicaExample } from "../../examples/replicas/example.js";
import { itOnPostgres } from "../support/postgres.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");

itOnPostgres("the replica example: gRPC round_robin and an HTTP balancer spread calls over three replicas on one database", "replicas_example", async (url) => {
  const printed: string[] = [];
  const report = await runReplicaExample(url, (line) => printed.push(line));

  assert.equal(new Set(report.replicas.flatMap((r) => [r.grpcAddress, r.httpAddress])).size, 6, "three replicas, each with its own two ports");
  assert.equal(report.grpcAnsweredBy.length, 6);
  assert.ok(new Set(report.grpcAnsweredBy).size > 1, `round_robin reached more than one replica: ${report.grpcAnsweredBy.join(", ")}`);
  assert.deepEqual(report.connectAnsweredBy, ["replica-1", "replica-2", "replica-3", "replica-1", "replica-2", "replica-3"], "the balancer takes the replicas in turn");
  for (const probe of report.probes) assert.deepEqual([probe.healthz, probe.readyz], ["200 ok", "200 ok"], probe.name);

  const text = printed.join("\n");
  assert.match(text, /BookRoom B-\w+: accepted, answered by replica-\d/);
  assert.match(text, /RecordPayment P5: revision 6, answered by replica-\d/, "every payment landed once, whichever replica took it");
  assert.match(text, /GetBooking B-\w+: paid 50\.00 at revision 6, answered by replica-1/, "a replica reads what the others wrote");
  assert.match(text, /Subscribe to booking-B-\w+ from the start: 6 events, then caught up, from replica-\d/);
});

it("the replica example says how to get a database when DATABASE_URL names none", async () => {
  const failure = await run(process.execPath, ["--import", "tsx", join(ROOT, "examples", "replicas", "main.ts")], { env: { ...process.env, DATABASE_URL: "" } }).then(
    () => assert.fail("the example ran without a database"),
    (error: { code: number; stderr: string }) => error,
  );
  assert.equal(failure.code, 2);
  assert.match(failure.stderr, /needs a PostgreSQL database/);
  assert.match(failure.stderr, /DATABASE_URL=postgres:\/\/postgres@127\.0\.0\.1:55432\/postgres npm run example:replicas/);
});
