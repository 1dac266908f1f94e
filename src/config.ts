import { z } from "zod";

const port = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a port number` })
    .int(`${name} must be a whole number`)
    .min(0, `${name} must be 0 to 65535`)
    .max(65535, `${name} must be 0 to 65535`)
    .default(fallback);

const positive = (name: string, fallback: number) =>
  z.coerce.number({ error: `${name} must be a number` }).int(`${name} must be a whole number`).positive(`${name} must be positive`).default(fallback);

/** Every environment variable Switchyard reads, with its default. */
const schema = z.object({
  HOST: z.string().min(1, "HOST must not be empty").default("127.0.0.1"),
  GRPC_PORT: port("GRPC_PORT", 50051),
  HTTP_PORT: port("HTTP_PORT", 8080),
  DATABASE_URL: z
    .string()
    .default("file:./data/switchyard.db")
    .refine((url) => /^(file:.+|postgres(ql)?:\/\/.+)$/.test(url), "DATABASE_URL must be file:<path>, file::memory: or postgres://…"),
  SQLITE_SYNCHRONOUS: z.enum(["FULL", "NORMAL"], { error: "SQLITE_SYNCHRONOUS must be FULL or NORMAL" }).default("FULL"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
    error: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent",
  }).default("info"),
  SHUTDOWN_TIMEOUT_MS: positive("SHUTDOWN_TIMEOUT_MS", 10_000),
  MAX_MESSAGE_BYTES: positive("MAX_MESSAGE_BYTES", 4 * 1024 * 1024),
  REFLECTION: z.enum(["on", "off"], { error: "REFLECTION must be on or off" }).default("on"),
});

/** The validated configuration, read once at start-up and passed down. */
export type Config = z.infer<typeof schema>;

/** Thrown when the environment holds a bad value; the message names each variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Reads and validates the configuration from an environment (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}
