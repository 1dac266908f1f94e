import { StoreUnavailableError, type AppendOutcome } from "./event-store.js";

/** A failure as it crosses a thread or comes back from a database: the StoreUnavailableError reason when it is about the environment. */
export interface WriteFailure {
  readonly reason?: string;
  readonly message: string;
}

/** How one append of a batch ended. */
export type Written = { readonly outcome: AppendOutcome } | { readonly failure: WriteFailure };

/** The error a failure stands for: StoreUnavailableError for the environment, Error for a bug. */
export function errorOf(failure: WriteFailure): Error {
  return failure.reason ? new StoreUnavailableError(failure.reason, failure.message) : new Error(failure.message);
}

export interface GroupCommitOptions {
  /** Most appends committed together in one transaction. */
  readonly maxBatch: number;
  /** Most batches sent and not yet answered; more wait in the queue. */
  readonly maxBatchesOut: number;
  /** Told of every batch once its commit answered: where metrics attach. */
  readonly onBatch?: (batch: BatchCommitted) => void;
}

/** One batch of appends as its store committed it (or failed to). */
export interface BatchCommitted {
  /** How many appends shared the transaction. */
  readonly appends: number;
  /** From sending the batch to its answer, in ms. */
  readonly durationMs: number;
  /** False when the transaction itself failed, failing every append of it. */
  readonly committed: boolean;
}

interface Pending<W> {
  readonly write: W;
  readonly resolve: (outcome: AppendOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit, for any store that commits a batch of appends in one transaction: appends
 * that arrive while earlier batches are being written wait in a queue and go together in
 * the next batch (one commit, one fsync). `commit` answers each append of a batch, or
 * throws when the transaction itself failed, which fails every append of it. No append
 * settles before its batch's answer.
 */
export function groupCommit<W>(commit: (batch: W[]) => Promise<Written[]>, { maxBatch, maxBatchesOut, onBatch }: GroupCommitOptions) {
  let queue: Pending<W>[] = [];
  /** The batches out, each settled once its appends are. */
  const writing = new Set<Promise<void>>();
  let flushScheduled = false;

  /** Sends what is queued, in batches of at most maxBatch, while fewer than maxBatchesOut are out. */
  function flush(): void {
    flushScheduled = false;
    while (writing.size < maxBatchesOut && queue.length > 0) send();
  }

  /** Sends the oldest appends queued as one batch and settles them when the commit answers. */
  function send(): void {
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
    const sent = onBatch ? performance.now() : 0;
    const out: Promise<void> = commit(batch.map((p) => p.write)).then(
      (written) => {
        // The next batch goes out before this one's callers run, so it is committed while
        // they do their work.
        writing.delete(out);
        flush();
        onBatch?.({ appends: batch.length, durationMs: performance.now() - sent, committed: true });
        batch.forEach((p, i) => {
          const w = written[i];
          if ("outcome" in w) p.resolve(w.outcome);
          else p.reject(errorOf(w.failure));
        });
      },
      (error: unknown) => {
        writing.delete(out);
        flush();
        onBatch?.({ appends: batch.length, durationMs: performance.now() - sent, committed: false });
        for (const p of batch) p.reject(error);
      },
    );
    writing.add(out);
  }

  return {
    /**
     * Queues one append for the next batch. `adjust` maps its outcome before it settles
     * (a resolve wrapped, not another promise: this is the hot path).
     */
    submit(write: W, adjust?: (outcome: AppendOutcome) => AppendOutcome): Promise<AppendOutcome> {
      return new Promise<AppendOutcome>((resolve, reject) => {
        queue.push({ write, resolve: adjust ? (outcome) => resolve(adjust(outcome)) : resolve, reject });
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },
    /** Sends everything queued and waits until every batch out has been answered. */
    async settle(): Promise<void> {
      flush();
      while (writing.size > 0) await Promise.all(writing);
    },
  };
}
