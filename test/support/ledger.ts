import { z } from "zod";
import { defineAggregate } from "../../src/kernel/aggregate.js";
import { defineCommand } from "../../src/kernel/command.js";
import { event } from "../../src/kernel/events.js";

/** A state that grows with its stream: each Noted event adds its text, `size` characters of it. Snapshots every 10 events. */
export const ledger = defineAggregate({
  name: "ledger",
  snapshotEvery: 10,
  initialState: () => ({ notes: [] as string[] }),
  evolve: (s: { notes: string[] }, e: { type: string; data: { text: string } }) => ({ notes: [...s.notes, e.data.text] }),
});

/** Writes one Noted event of `size` characters of text, whatever the ledger holds (a retry writes it again). */
export const note = defineCommand({
  type: "ledger.Note",
  aggregate: ledger,
  payload: z.object({ ledgerId: z.string(), size: z.number() }),
  aggregateIdField: "ledgerId",
  stream: "any",
  policy: { scopes: [] },
  rejections: [],
  decide: (_s, { payload }) => [event("Noted", { text: "x".repeat(payload.size) })],
});
