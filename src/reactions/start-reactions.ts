import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { AnyReaction } from "../kernel/reaction.js";
import { sqlitePathOf } from "../store/open-store.js";
import { loggedDeadLetters, scheduledDeadLetters, type DeadLetterSink } from "./dead-letter.js";
import type { ReactionLedger } from "./ledger.js";
import { openPostgresLedger } from "./postgres-ledger.js";
import { startReactionRunner, type ReactionRunnerOptions } from "./runner.js";
import { openSqliteLedger } from "./sqlite-ledger.js";

/** The reactions of a running service. */
export interface RunningReactions {
  /** Stops every runner and closes the ledger; call before the store closes. */
  stop(): Promise<void>;
}

/** What the service hands over besides its configuration. */
export interface ReactionWiring {
  readonly app: ReactionRunnerOptions["app"];
  readonly reactions: readonly AnyReaction[];
  readonly ports: ReactionRunnerOptions["ports"];
  readonly logger: Logger;
  /** The clock dead letters are dated by. */
  readonly clock: () => Date;
  /** Where given-up effects go; by default the store's dead letters for commands, the log for collaborator calls. */
  readonly deadLetters?: DeadLetterSink;
}

/** Opens the ledger on the database DATABASE_URL names (tables from the store's migrations). */
export function openLedger(databaseUrl: string): ReactionLedger {
  const path = sqlitePathOf(databaseUrl);
  return path !== undefined ? openSqliteLedger(path) : openPostgresLedger(databaseUrl);
}

/** Starts one runner per reaction; each runs in whichever process or replica holds its lease. */
export function startReactions(
  config: Pick<Config, "DATABASE_URL" | "REACTION_MAX_DEPTH" | "REACTION_MAX_ATTEMPTS" | "REACTION_LEASE_MS">,
  wiring: ReactionWiring,
): RunningReactions {
  const ledger = openLedger(config.DATABASE_URL);
  const logged = loggedDeadLetters(wiring.logger);
  const schedules = wiring.app.store.schedules;
  const deadLetters = wiring.deadLetters ?? (schedules ? scheduledDeadLetters(schedules, wiring.clock, logged) : logged);
  const runners = wiring.reactions.map((reaction) =>
    startReactionRunner({
      app: wiring.app,
      reaction,
      ports: wiring.ports,
      ledger,
      deadLetters,
      maxDepth: config.REACTION_MAX_DEPTH,
      maxAttempts: config.REACTION_MAX_ATTEMPTS,
      leaseMs: config.REACTION_LEASE_MS,
      onNote: (message, facts) => wiring.logger.info(facts, message),
    }),
  );
  return {
    async stop() {
      await Promise.all(runners.map((runner) => runner.stop()));
      await ledger.close();
    },
  };
}
