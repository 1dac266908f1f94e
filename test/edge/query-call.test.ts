import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import type { EdgeCall } from "../../src/edge/edge-service.js";
import { answerMargin, MAX_PAGE_SIZE, orderByOf, pageSizeOf, readOptionsOf } from "../../src/edge/query-call.js";
import { queryError, STRUCT_FILTER_FIELDS } from "../../src/edge/query-error.js";
import { QueryError } from "../../src/read/read-models.js";
import { TRUSTED_LOCAL } from "../../src/kernel/identity.js";
import { filterOf } from "../../src/services/query-v1/filter.js";

const call = (fields: Partial<EdgeCall> = {}): EdgeCall => ({
  method: "/switchyard.query.v1.QueryService/Find",
  identity: { ...TRUSTED_LOCAL, tenant: "t1" },
  header: () => undefined,
  log: {},
  signal: new AbortController().signal,
  ...fields,
});

const violations = (error: unknown) => {
  assert.ok(error instanceof ConnectError);
  assert.equal(error.code, Code.InvalidArgument, error.message);
  return error.findDetails(BadRequestSchema)[0].fieldViolations.map(({ field, description }) => ({ field, description }));
};

describe("query errors on the wire (AIP-193)", () => {
  const mapped = (error: QueryError, minPosition?: bigint) => queryError(error, STRUCT_FILTER_FIELDS, minPosition) as ConnectError;

  it("a bad filter, order or page token is INVALID_ARGUMENT naming the request field, with the query's reason", () => {
    for (const [error, field] of [
      [new QueryError("INVALID_FILTER", "nights is not a declared field", { field: "nights" }), "filter.nights"],
      [new QueryError("INVALID_ORDER", "cannot order by nights"), "order_by"],
      [new QueryError("INVALID_PAGE_TOKEN", "the page token belongs to another filter"), "page_token"],
    ] as const) {
      const wire = mapped(error);
      assert.deepEqual(violations(wire), [{ field, description: error.message }]);
      const [info] = wire.findDetails(ErrorInfoSchema);
      assert.deepEqual([info.reason, info.domain, info.metadata], [error.reason, "switchyard.dev", { field }]);
    }
  });

  it("read models behind min_position are UNAVAILABLE naming the position reached and the one asked for", () => {
    const wire = mapped(new QueryError("NOT_CAUGHT_UP", "read models reached 41", { position: 41 }), 57n);
    assert.equal(wire.code, Code.Unavailable);
    const [info] = wire.findDetails(ErrorInfoSchema);
    assert.deepEqual([info.reason, info.metadata], ["NOT_CAUGHT_UP", { position: "41", minPosition: "57" }]);
    // The caller's own value comes back, even one past what the server can wait for (2^53 - 1).
    const huge = mapped(new QueryError("NOT_CAUGHT_UP", "read models reached 41", { position: 41 }), 18446744073709551615n);
    assert.equal(huge.findDetails(ErrorInfoSchema)[0].metadata.minPosition, "18446744073709551615");
  });

  it("an unknown collection is NOT_FOUND; anything that is not a QueryError passes through for the lifecycle to map", () => {
    assert.equal(mapped(new QueryError("UNKNOWN_COLLECTION", 'no collection "rooms"')).code, Code.NotFound);
    const bug = new TypeError("boom");
    assert.equal(queryError(bug, STRUCT_FILTER_FIELDS), bug);
    const unknownReason = new QueryError("SOMETHING_NEW", "?");
    assert.equal(queryError(unknownReason, STRUCT_FILTER_FIELDS), unknownReason);
  });
});

describe("query requests at the edge", () => {
  it("page size: 0 is the default, large is cut to the maximum, negative is refused naming the field", () => {
    assert.equal(pageSizeOf(0), undefined);
    assert.equal(pageSizeOf(7), 7);
    assert.equal(pageSizeOf(MAX_PAGE_SIZE * 5), MAX_PAGE_SIZE);
    assert.throws(() => pageSizeOf(-1), (e) => violations(e)[0].field === "page_size");
  });

  it("order_by is one field and a direction, named in the edge's words", () => {
    const fieldOf = (name: string) => ({ check_in: "checkIn" })[name];
    assert.equal(orderByOf("", fieldOf), undefined);
    assert.deepEqual(orderByOf("check_in", fieldOf), { field: "checkIn", direction: "asc" });
    assert.deepEqual(orderByOf("  check_in   desc ", fieldOf), { field: "checkIn", direction: "desc" });
    for (const bad of ["check_in sideways", "check_in desc x", "nights"]) {
      assert.throws(() => orderByOf(bad, fieldOf), (e) => violations(e)[0].field === "order_by", bad);
    }
  });

  it("a read without min_position waits for nothing; with it, gives up shortly before the call's deadline", async () => {
    assert.deepEqual(Object.keys(readOptionsOf(call(), 0n)).sort(), ["signal", "tenant"]);
    const started = Date.now();
    const options = readOptionsOf(call({ deadline: started + 2000 }), 12n);
    assert.deepEqual([options.tenant, options.minPosition], ["t1", 12]);
    // AbortSignal.timeout does not keep the process alive; a server's sockets do, this test's timer here.
    const alive = setTimeout(() => undefined, 10_000);
    await new Promise((resolve) => options.signal!.addEventListener("abort", resolve, { once: true }));
    clearTimeout(alive);
    const waited = Date.now() - started;
    // Not before its margin; a late timer on a loaded machine may fire later, so the margin itself is checked below.
    assert.ok(waited >= 1740 && waited < 3000, `aborted after ${waited} ms, 250 ms before the deadline expected`);
    assert.deepEqual([answerMargin(2000), answerMargin(800), answerMargin(100)], [250, 160, 20]);
  });

  it("a read waiting for min_position stops when the client goes away", () => {
    const client = new AbortController();
    const options = readOptionsOf(call({ signal: client.signal, deadline: Date.now() + 60_000 }), 1n);
    client.abort();
    assert.equal(options.signal!.aborted, true);
  });

  it("a Struct filter becomes a read model filter; a shape no filter holds is refused naming it", () => {
    const filter = { status: "booked", nights: { gte: 2, lt: 5 }, guestId: { in: ["g1", "g2"] }, paid: true };
    assert.deepEqual(filterOf(filter), filter);
    assert.deepEqual(filterOf(undefined), {});
    assert.deepEqual(violations(catching(() => filterOf({ status: null }))).map((v) => v.field), ["filter.status"]);
    assert.deepEqual(violations(catching(() => filterOf({ status: { like: "b%" } }))).map((v) => v.field), ["filter.status"]);
    assert.deepEqual(violations(catching(() => filterOf({ a: [1], b: "ok", c: { in: "x" } }))).map((v) => v.field), ["filter.a", "filter.c"]);
  });
});

/** What `work` threw. */
function catching(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  assert.fail("expected a throw");
}
