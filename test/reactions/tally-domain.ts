/** A test domain for reaction runners: tallies whose every Add writes one event, so a command run twice shows. */
import { z } from "zod";
import { defineAggregate } from "../../src/kernel/aggregate.js";
import { defineCommand } from "../../src/kernel/command.js";
import { event } from "../../src/kernel/events.js";
import { defineReaction, type CallContext } from "../../src/kernel/reaction.js";

/** A tally: every Add appends one Tallied, so a command run twice shows as two events. */
export const tally = defineAggregate<{ count: number }, { type: "Tallied" | "Pinged"; data: { tallyId: string } }>({
  name: "tally",
  initialState: () => ({ count: 0 }),
  evolve: (state, e) => (e.type === "Tallied" ? { count: state.count + 1 } : state),
});
const payload = z.strictObject({ tallyId: z.string().min(1) });
export const add = defineCommand({
  type: "tally.Add",
  aggregate: tally,
  payload,
  aggregateIdField: "tallyId",
  stream: "any",
  policy: { scopes: [] },
  rejections: [],
  decide: (_, { payload: p }) => event("Tallied", { tallyId: p.tallyId }),
});
export const ping = defineCommand({
  type: "tally.Ping",
  aggregate: tally,
  payload,
  aggregateIdField: "tallyId",
  stream: "any",
  policy: { scopes: [] },
  rejections: [],
  decide: (_, { payload: p }) => event("Pinged", { tallyId: p.tallyId }),
});

/** The port the test reactions call: records what it heard, or fails as a test tells it. */
export interface Recorder {
  heard(argument: { tallyId: string; tenant: string }, context: CallContext): Promise<void>;
}
export interface Ports {
  readonly recorder: Recorder;
}

/** On Pinged: add one to the pinged tally's "-added" twin, then tell the recorder. */
export const addOnPing = defineReaction<Ports>()({
  name: "test.add-on-ping",
  eventTypes: ["Pinged"],
  react: (e, { issue, call }) => {
    const { tallyId } = e.data as { tallyId: string };
    return [issue(add, { tallyId: `${tallyId}-added` }), call("recorder", "heard", { tallyId, tenant: e.tenant })];
  },
});

/** On Tallied: add again to the same tally, a loop without end. */
export const addForever = defineReaction<Ports>()({
  name: "test.add-forever",
  eventTypes: ["Tallied"],
  react: (e, { issue }) => [issue(add, { tallyId: (e.data as { tallyId: string }).tallyId })],
});

export function recorder(fail: (n: number) => boolean = () => false) {
  const calls: Array<{ tallyId: string; tenant: string; key: string }> = [];
  let n = 0;
  const port: Recorder = {
    async heard(argument, { idempotencyKey }) {
      if (fail(++n)) throw new Error(`recorder refused call ${n}`);
      calls.push({ ...argument, key: idempotencyKey });
    },
  };
  return { port, calls };
}

