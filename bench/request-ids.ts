import { randomUUID } from "node:crypto";

/**
 * The request ids the benchmark's callers send. By default a random UUIDv4 per call, as
 * callers are told to make them (AIP-155), which lands each request record's index entry on
 * a random page of the request-id index. `BENCH_REQUEST_IDS=sequential` sends
 * `<prefix>-<n>` instead, as runs 1–21 did: those entries land next to each other, which
 * flatters the store (bench/HISTORY.md, ninth round).
 */
const mode = process.env.BENCH_REQUEST_IDS ?? "uuid";
if (mode !== "uuid" && mode !== "sequential") throw new Error(`BENCH_REQUEST_IDS must be uuid or sequential, not ${JSON.stringify(mode)}`);

export const REQUEST_IDS: "uuid" | "sequential" = mode;

/** The request id of the n-th call of a run whose ids start with `prefix`. */
export const requestIdOf: (prefix: string, n: number) => string = mode === "sequential" ? (prefix, n) => `${prefix}-${n}` : () => randomUUID();
