import { randomUUID } from "node:crypto";

/**
 * What a decider may ask of the world, injected so tests can swap each one.
 * `ports` holds domain-specific collaborators (a room catalogue, a fraud check, …).
 */
export interface Collaborators {
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly ports: Readonly<Record<string, unknown>>;
}

/** The real clock, random UUIDs and no ports. */
export const systemCollaborators: Collaborators = Object.freeze({
  clock: () => new Date(),
  newId: () => randomUUID(),
  ports: Object.freeze({}),
});

/** A clock that always reads `at`, for deterministic tests. */
export function fixedClock(at: string | Date): () => Date {
  const instant = new Date(at);
  return () => new Date(instant);
}

/** Ids "prefix-1", "prefix-2", … in order, for deterministic tests. */
export function sequentialIds(prefix = "id"): () => string {
  let next = 0;
  return () => `${prefix}-${++next}`;
}
