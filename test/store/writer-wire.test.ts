import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Written } from "../../src/store/group-commit.js";
import { fromWire, snapshotSizeOf, toWire, writtenFromWire, writtenToWire } from "../../src/store/sqlite/writer-wire.js";
import type { AppendRequest } from "../../src/store/event-store.js";
import type { EventMetadata } from "../../src/kernel/events.js";

const count = fc.nat({ max: 2 ** 40 });
const metadata = fc.record({ commandId: fc.string(), commandType: fc.string(), tenant: fc.string(), timestamp: fc.string() }) as fc.Arbitrary<unknown> as fc.Arbitrary<EventMetadata>;

/** Appends as the pipeline makes them: any number of events, one metadata object shared or not, maybe a request record and a snapshot. */
const appendRequest: fc.Arbitrary<AppendRequest> = fc
  .record({
    tenant: fc.string(),
    streamId: fc.string(),
    expectedRevision: count,
    shared: metadata,
    events: fc.array(fc.record({ id: fc.string(), type: fc.string(), data: fc.jsonValue(), own: fc.option(metadata, { nil: undefined }) }), { maxLength: 5 }),
    request: fc.option(
      fc.record({ requestId: fc.string(), commandType: fc.string(), aggregateId: fc.string(), fingerprint: fc.string(), result: fc.jsonValue() }),
      { nil: undefined },
    ),
    snapshot: fc.option(fc.record({ revision: count, version: fc.nat(), state: fc.jsonValue() }), { nil: undefined }),
    schedules: fc.option(fc.array(fc.record({ id: fc.string(), commandType: fc.string(), payload: fc.jsonValue(), runAt: count }), { maxLength: 3 }), { nil: undefined }),
  })
  .map(({ shared, events, ...rest }) => ({ ...rest, events: events.map(({ own, ...e }) => ({ ...e, metadata: own ?? shared })) }) as AppendRequest);

const written: fc.Arbitrary<Written> = fc.oneof(
  fc.record({ outcome: fc.record({ kind: fc.constant("appended" as const), revision: count, positions: fc.array(count, { maxLength: 5 }) }) }),
  fc.record({ outcome: fc.record({ kind: fc.constant("conflict" as const), actualRevision: count }) }),
  fc.constant({ outcome: { kind: "request-taken" as const } }),
  fc.record({ failure: fc.record({ reason: fc.string({ minLength: 1 }), message: fc.string() }) }),
  fc.record({ failure: fc.record({ message: fc.string() }) }),
);

describe("what crosses to the SQLite writer thread", () => {
  it("an append arrives with every field, its JSON values serialized", () => {
    fc.assert(
      fc.property(appendRequest, (request) => {
        const wire = toWire(request);
        assert.equal(snapshotSizeOf(wire), request.snapshot && JSON.stringify(request.snapshot.state).length, "the snapshot's JSON length, read off the wire");
        assert.deepEqual(fromWire(wire), {
          tenant: request.tenant,
          streamId: request.streamId,
          expectedRevision: request.expectedRevision,
          events: request.events.map((e) => [e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)]),
          request: request.request && { ...request.request, result: JSON.stringify(request.request.result) },
          snapshot: request.snapshot && { ...request.snapshot, state: JSON.stringify(request.snapshot.state) },
          ...(request.schedules?.length ? { schedules: JSON.stringify(request.schedules) } : {}),
        });
      }),
      { numRuns: 1000 },
    );
  });

  it("a batch's outcomes come back in order, each as it was", () => {
    fc.assert(
      fc.property(fc.array(written, { maxLength: 40 }), (outcomes) => {
        // Through JSON: fast-check's records have no prototype, the decoded ones Object's.
        assert.deepEqual(writtenFromWire(writtenToWire(outcomes)), JSON.parse(JSON.stringify(outcomes)));
      }),
      { numRuns: 1000 },
    );
  });

  it("an answer with an outcome code it does not know is refused, not read as a failure", () => {
    assert.throws(() => writtenFromWire([0, 3, 1, 17, 9, 1]), /unknown outcome code at 4: 9/);
  });

  it("data JSON cannot hold fails before anything is queued", () => {
    const request: AppendRequest = {
      tenant: "t",
      streamId: "s",
      expectedRevision: 0,
      events: [{ id: "e", type: "T", data: { amount: 1n }, metadata: {} as EventMetadata }],
    };
    assert.throws(() => toWire(request), TypeError);
  });
});
