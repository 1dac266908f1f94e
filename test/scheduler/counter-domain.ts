import { z } from "zod";
import { defineAggregate } from "../../src/kernel/aggregate.js";
import { defineCommand } from "../../src/kernel/command.js";
import { accept, reject } from "../../src/kernel/decision.js";
import { event, type DomainEvent } from "../../src/kernel/events.js";
import { OPEN } from "../../src/kernel/policy.js";

/** A counter that schedules its own increments: the smallest domain that uses scheduled commands. */
export interface CounterState {
  readonly count: number;
  readonly stopped: boolean;
}

export const counter = defineAggregate<CounterState, DomainEvent>({
  name: "counter",
  initialState: () => ({ count: 0, stopped: false }),
  evolve: (state, e) => (e.type === "Incremented" ? { ...state, count: state.count + 1 } : e.type === "Stopped" ? { ...state, stopped: true } : state),
});

/** Starts a counter and schedules one increment `afterMs` later (or at `at`). */
export const start = defineCommand({
  type: "counter.Start",
  aggregate: counter,
  payload: z.strictObject({ counterId: z.string(), afterMs: z.number().optional(), at: z.string().optional() }),
  aggregateIdField: "counterId",
  stream: "must-be-new",
  policy: OPEN,
  rejections: [],
  decide: (_s, { payload: p }) =>
    accept([event("Started", { counterId: p.counterId })], undefined, {
      schedule: [
        p.at === undefined
          ? { type: "counter.Increment", aggregateId: p.counterId, payload: {}, afterMs: p.afterMs ?? 60_000 }
          : { type: "counter.Increment", aggregateId: p.counterId, payload: {}, at: new Date(p.at) },
      ],
    }),
});

export const increment = defineCommand({
  type: "counter.Increment",
  aggregate: counter,
  payload: z.strictObject({ counterId: z.string() }),
  aggregateIdField: "counterId",
  stream: "must-exist",
  policy: OPEN,
  rejections: ["COUNTER_STOPPED"],
  decide: (state: CounterState, { payload: p }) => (state.stopped ? reject("COUNTER_STOPPED", `counter ${p.counterId} is stopped`) : event("Incremented", {})),
});

export const stop = defineCommand({
  type: "counter.Stop",
  aggregate: counter,
  payload: z.strictObject({ counterId: z.string() }),
  aggregateIdField: "counterId",
  stream: "must-exist",
  policy: OPEN,
  rejections: [],
  decide: () => event("Stopped", {}),
});

export const counterCommands = [start, increment, stop] as const;
