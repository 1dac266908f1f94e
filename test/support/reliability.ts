/** One row of the reliability summary: what a scenario tried and what it lost. */
export interface ReliabilityRow {
  readonly scenario: string;
  readonly callsTried: number;
  /** Calls that ended in an answer the scenario did not allow (a crash, INTERNAL, a wrong code). */
  readonly failures: number;
  /** Acknowledged commands missing or duplicated afterwards. */
  readonly dataLost: number;
  readonly note?: string;
}

/** Prefix of the test diagnostic that carries a row to the reliability reporter. */
export const ROW_PREFIX = "reliability-row ";

/**
 * Reports a scenario's figures: call as `t.diagnostic(reliabilityRow({...}))` inside a test;
 * test/support/reliability-reporter.mjs gathers the rows and prints the table at the end.
 */
export function reliabilityRow(row: ReliabilityRow): string {
  return ROW_PREFIX + JSON.stringify(row);
}
