import pino, { type DestinationStream, type Logger } from "pino";

/** The JSON logger every part of the service writes to (stdout, one object per line). */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: { service: "switchyard" }, timestamp: pino.stdTimeFunctions.isoTime },
    linesPerTurn(pino.destination({ dest: 1, sync: true })),
  );
}

/**
 * Gathers the lines logged during one turn of the event loop and writes them to `out` as one
 * string when the turn ends, and at process exit (so a crash's last lines are kept).
 *
 * Written here because neither of sonic-boom's modes suits a line per RPC (measured, bench/HISTORY.md,
 * sixth round): its asynchronous mode appends each line to a growing string and measures the
 * whole string again, ~7–11 KB of garbage per line under load; its synchronous mode makes one
 * write system call per line. This keeps pino's ~2.7 KB per line and one write per turn, and
 * leaves the writing itself (partial writes, EAGAIN) to sonic-boom. A stdout that stalls holds
 * the service up rather than filling its memory.
 */
export function linesPerTurn(out: { write(text: string): unknown }): DestinationStream {
  let lines: string[] = [];
  const flush = () => {
    if (lines.length === 0) return;
    const text = lines.join("");
    lines = [];
    out.write(text);
  };
  process.on("exit", flush);
  return {
    write(line: string) {
      if (lines.push(line) === 1) setImmediate(flush);
    },
  };
}
