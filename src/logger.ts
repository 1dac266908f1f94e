import pino, { type Logger } from "pino";

/** The JSON logger every part of the service writes to (stdout, one object per line). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "switchyard" }, timestamp: pino.stdTimeFunctions.isoTime });
}
