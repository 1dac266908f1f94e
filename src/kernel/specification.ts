import assert from "node:assert/strict";
import { fold, type Aggregate } from "./aggregate.js";
import { systemCollaborators, type Collaborators } from "./collaborators.js";
import type { AnyCommand, RelatedStreams } from "./command.js";
import { settle, type Acceptance, type Rejection } from "./decision.js";
import type { DomainEvent } from "./events.js";
import { TRUSTED_LOCAL, type Identity } from "./identity.js";
import type { Violation } from "./result.js";
import { parsePayload } from "./validation.js";
import type { CommandSchedule } from "./schedule.js";

/** What running one command against the given history produced. */
type Outcome = { kind: "invalid"; violations: Violation[] } | Acceptance<DomainEvent> | Rejection;

/** Checks on the outcome of `when`; each throws an AssertionError when it does not hold. */
export interface Then {
  /** The command emitted exactly these events on its own stream (one or many, in order). */
  then(expected: DomainEvent | readonly DomainEvent[]): Then;
  /** The command emitted exactly these events on the related stream it names `name` (none when empty). */
  thenRelated(name: string, expected: DomainEvent | readonly DomainEvent[]): Then;
  /** The command was rejected with this code (which the command must declare). */
  thenRejects(code: string, message?: RegExp): Then;
  /** The payload failed validation on exactly these fields. */
  thenInvalid(...fields: string[]): Then;
  /** The command's response value. */
  thenResponds(expected: unknown): Then;
  /** The state after folding the new events onto the given history. */
  thenState(check: (state: any) => void): Then;
  /** The commands the decision scheduled to run later (schedule.ts). */
  thenSchedules(expected: readonly CommandSchedule[]): Then;
}

/** What else a specification's history holds: collaborators, the caller, related streams' histories. */
export interface GivenOptions {
  readonly collaborators?: Partial<Collaborators>;
  readonly identity?: Identity;
  /**
   * The histories of the command's related streams, by the name it declares them under
   * (`{ room: [nightsReserved] }`); a related stream not named starts empty.
   */
  readonly related?: Readonly<Record<string, readonly DomainEvent[]>>;
}

/**
 * Given/When/Then for deciders, with no store and no server:
 * `given(booking, [roomBooked]).when(recordPayment, {...}).then([paymentRecorded])`; a
 * command over several streams is given their histories too:
 * `given(booking, [], { related: { room: [...] } }).when(bookRoom, {...}).thenRelated("room", [...])`.
 */
export function given<S, E extends DomainEvent>(aggregate: Aggregate<S, E>, history: readonly E[] = [], options: GivenOptions = {}) {
  return {
    when(command: AnyCommand, payload: unknown): Then {
      const state = fold(aggregate, aggregate.initialState(), history);
      const parsed = parsePayload(command.payload, payload);
      const declared = (command.related ?? {}) as RelatedStreams;
      for (const name of Object.keys(options.related ?? {})) assert.ok(name in declared, `${command.type} declares no related stream "${name}"`);
      const related: Record<string, unknown> = {};
      for (const [name, stream] of Object.entries(declared)) related[name] = fold(stream.aggregate, stream.aggregate.initialState(), options.related?.[name] ?? []);
      const outcome: Outcome = parsed.ok
        ? settle(
            command.decide(
              state,
              { aggregateId: String((parsed.value as Record<string, unknown>)[command.aggregateIdField]), payload: parsed.value },
              { ...systemCollaborators, ...options.collaborators, identity: options.identity ?? TRUSTED_LOCAL, revision: history.length, related },
            ),
          )
        : { kind: "invalid", violations: parsed.violations };
      return thenOf(command, aggregate as Aggregate<unknown, DomainEvent>, state, outcome);
    },
  };
}

function thenOf(command: AnyCommand, aggregate: Aggregate<unknown, DomainEvent>, state: unknown, outcome: Outcome): Then {
  const accepted = (): Acceptance<DomainEvent> => {
    assert.equal(outcome.kind, "acceptance", `expected events, got ${JSON.stringify(outcome)}`);
    return outcome as Acceptance<DomainEvent>;
  };
  const checks: Then = {
    then(expected) {
      const events = Array.isArray(expected) ? expected : [expected];
      assert.deepEqual(accepted().events, events);
      return checks;
    },
    thenRelated(name, expected) {
      assert.ok(name in ((command.related ?? {}) as RelatedStreams), `${command.type} declares no related stream "${name}"`);
      const events = Array.isArray(expected) ? expected : [expected];
      assert.deepEqual(accepted().related?.[name] ?? [], events);
      return checks;
    },
    thenRejects(code, message) {
      assert.equal(outcome.kind, "rejection", `expected rejection ${code}, got ${JSON.stringify(outcome)}`);
      const rejection = outcome as Rejection;
      assert.equal(rejection.code, code);
      assert.ok(command.rejections.includes(code), `${command.type} does not declare rejection ${code}`);
      if (message) assert.match(rejection.message, message);
      return checks;
    },
    thenInvalid(...fields) {
      assert.equal(outcome.kind, "invalid", `expected invalid payload, got ${JSON.stringify(outcome)}`);
      const named = (outcome as { violations: Violation[] }).violations.map((v) => v.field);
      assert.deepEqual([...new Set(named)].sort(), [...fields].sort());
      return checks;
    },
    thenResponds(expected) {
      assert.deepEqual(accepted().response, expected);
      return checks;
    },
    thenState(check) {
      check(fold(aggregate, state, accepted().events));
      return checks;
    },
    thenSchedules(expected) {
      assert.deepEqual(accepted().schedule ?? [], expected);
      return checks;
    },
  };
  return checks;
}
