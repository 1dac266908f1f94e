/**
 * A command a decider asks to run later (Bounda's delayed commands): it is stored with the
 * events of the decision that made it, in their transaction, so it exists exactly when they do.
 * It runs through the normal pipeline with the identity of the command that made it.
 */
export interface CommandSchedule {
  /** A registered command type, e.g. "booking.CancelUnpaidBooking". */
  readonly type: string;
  readonly aggregateId: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** When it runs: an instant. Exactly one of `at` and `afterMs`. */
  readonly at?: Date;
  /** When it runs: this many ms after the injected clock's now when the decision is made. */
  readonly afterMs?: number;
}

/** The instant a schedule runs at, in ms since the epoch, on the clock reading `now`; throws for a schedule that names neither or both. */
export function runAtOf(schedule: CommandSchedule, now: Date): number {
  const hasAt = schedule.at !== undefined;
  const hasDelay = schedule.afterMs !== undefined;
  if (hasAt === hasDelay) throw new TypeError(`a schedule of ${schedule.type} needs exactly one of at and afterMs`);
  const runAt = hasAt ? schedule.at!.getTime() : now.getTime() + schedule.afterMs!;
  if (!Number.isFinite(runAt)) throw new TypeError(`a schedule of ${schedule.type} has no valid time`);
  return runAt;
}
