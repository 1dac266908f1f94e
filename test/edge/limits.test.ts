import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { effectiveDeadline, payloadTooBig, wellFormed, withinDeadline, withWellFormedMessage } from "../../src/edge/limits.js";

const limits = { maxPayloadDepth: 3, maxPayloadFields: 5 };

describe("request limits", () => {
  it("measures payload depth (the payload is level 1, lists count) and values at every level", () => {
    assert.equal(payloadTooBig({ a: { b: { c: 1 } } }, limits), undefined);
    assert.match(payloadTooBig({ a: { b: { c: {} } } }, limits)!, /deeper than 3 levels/);
    assert.match(payloadTooBig({ a: [[[]]] }, limits)!, /deeper than 3 levels/);
    assert.equal(payloadTooBig({ a: [1, 2], b: { c: 3 } }, limits), undefined); // a, 1, 2, b, c: 5 values
    assert.match(payloadTooBig({ a: [1, 2], b: { c: 3, d: 4 } }, limits)!, /more than 5 values/);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.match(payloadTooBig({ deep }, { maxPayloadDepth: 200_000, maxPayloadFields: 1e9 }) ?? "fine", /fine/, "no recursion to overflow");
  });

  it("cuts a client deadline to the maximum, and gives a call without one exactly the maximum", () => {
    assert.equal(effectiveDeadline(undefined, 500, 1000), 1500);
    assert.equal(effectiveDeadline(Infinity, 500, 1000), 1500);
    assert.equal(effectiveDeadline(3_600_000, 500, 1000), 1500);
    assert.equal(effectiveDeadline(200, 500, 1000), 1200);
    assert.equal(effectiveDeadline(-5, 500, 1000), 1000);
  });

  it("answers DEADLINE_EXCEEDED when the work outlives the deadline, whether it is still running or finished late", async () => {
    let workFinished = false;
    const slow = withinDeadline(Date.now() + 50, () => new Promise((resolve) => setTimeout(() => ((workFinished = true), resolve("late")), 300)));
    const error = await slow.then(() => assert.fail("expected DEADLINE_EXCEEDED"), (e: unknown) => e as ConnectError);
    assert.equal(error.code, Code.DeadlineExceeded);
    assert.equal(workFinished, false, "answered at the deadline, not when the work finished");

    let clock = 0;
    const finishedLate = withinDeadline(100, async () => {
      clock = 150; // the work blocked past the deadline, then returned
      return "done";
    }, () => clock);
    await assert.rejects(finishedLate, (e: ConnectError) => e.code === Code.DeadlineExceeded);
    assert.equal(await withinDeadline(Date.now() + 1000, async () => "in time"), "in time");
    await assert.rejects(withinDeadline(Date.now() + 1000, async () => { throw new ConnectError("bad", Code.InvalidArgument); }), (e: ConnectError) => e.code === Code.InvalidArgument);
  });

  it("replaces lone surrogates, keeps pairs, and copies an error only when its message needs it", () => {
    assert.equal(wellFormed("a\uD83D"), "a\uFFFD");
    assert.equal(wellFormed("\uDE00b"), "\uFFFDb");
    assert.equal(wellFormed("ok 😀"), "ok 😀");
    const fine = new ConnectError("fine", Code.InvalidArgument);
    assert.equal(withWellFormedMessage(fine), fine);
    const split = withWellFormedMessage(new ConnectError(`x${"😀".slice(0, 1)}`, Code.NotFound));
    assert.deepEqual([split.rawMessage, split.code], ["x\uFFFD", Code.NotFound]);
    assert.doesNotThrow(() => encodeURI(split.rawMessage));
  });
});
