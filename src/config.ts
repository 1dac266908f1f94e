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

/** Units a duration may carry, in ms. */
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as "48h", "90m", "2s" or "500ms" (a bare number is seconds), in ms; a regex, as no dependency is worth one format. */
const duration = (name: string, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
      const ms = match ? Number(match[1]) * DURATION_UNITS[match[2] ?? "s"] : NaN;
      if (!(ms >= 1000 && Number.isSafeInteger(ms))) {
        ctx.addIssue({ code: "custom", message: `${name} must be a duration of at least 1s, such as 48h, 90m or 30s` });
        return z.NEVER;
      }
      return ms;
    });

/** Every environment variable Switchyard reads, with its default. */
const schema = z.object({
  HOST: z.string().min(1, "HOST must not be empty").default("127.0.0.1"),
  GRPC_PORT: port("GRPC_PORT", 50051),
  HTTP_PORT: port("HTTP_PORT", 8080),
  DATABASE_URL: z
    .string()
    .default("file:./data/switchyard.db")
    .refine((url) => /^(file:.+|postgres(ql)?:\/\/.+)$/.test(url), "DATABASE_URL must be file:<path>, file::memory: or postgres://user@host:port/database"),
  // Most connections the PostgreSQL store opens; SQLite ignores it.
  DATABASE_POOL_SIZE: positive("DATABASE_POOL_SIZE", 10),
  // How long the answer to a request id is kept for retries (after it, the id counts as new); 0 keeps every one.
  REQUEST_RETENTION_S: z.coerce
    .number({ error: "REQUEST_RETENTION_S must be a number of seconds" })
    .int("REQUEST_RETENTION_S must be a whole number of seconds")
    .min(0, "REQUEST_RETENTION_S must be 0 (keep every request record) or more")
    .default(24 * 60 * 60),
  // The most the commands' state cache holds, in MB of its states' JSON (a state takes a few times that in memory); 0 turns it off.
  STATE_CACHE_MB: z.coerce
    .number({ error: "STATE_CACHE_MB must be a number of megabytes" })
    .min(0, "STATE_CACHE_MB must be 0 (no cache) or more")
    .default(16),
  SQLITE_SYNCHRONOUS: z.enum(["FULL", "NORMAL"], { error: "SQLITE_SYNCHRONOUS must be FULL or NORMAL" }).default("FULL"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
    error: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent",
  }).default("info"),
  SHUTDOWN_TIMEOUT_MS: positive("SHUTDOWN_TIMEOUT_MS", 10_000),
  MAX_MESSAGE_BYTES: positive("MAX_MESSAGE_BYTES", 4 * 1024 * 1024),
  // The protobuf decoder refuses Structs nested deeper than 49 levels on its own (MALFORMED_REQUEST);
  // up to 48 the limit below answers with a BadRequest on `payload` instead.
  MAX_PAYLOAD_DEPTH: positive("MAX_PAYLOAD_DEPTH", 32).refine((n) => n <= 48, "MAX_PAYLOAD_DEPTH must be 1 to 48"),
  MAX_PAYLOAD_FIELDS: positive("MAX_PAYLOAD_FIELDS", 10_000),
  MAX_DEADLINE_MS: positive("MAX_DEADLINE_MS", 30_000),
  // HTTP/2 pings on idle connections find dead clients of long-lived streams.
  KEEPALIVE_TIME_MS: positive("KEEPALIVE_TIME_MS", 30_000),
  KEEPALIVE_TIMEOUT_MS: positive("KEEPALIVE_TIMEOUT_MS", 10_000),
  // Most subscriptions (Subscribe streams) open at once in one process; more get RESOURCE_EXHAUSTED.
  MAX_SUBSCRIPTIONS: positive("MAX_SUBSCRIPTIONS", 1000),
  // A subscriber that was live and is more than SUBSCRIPTION_MAX_LAG events behind the head for
  // SUBSCRIPTION_LAG_TIMEOUT_MS is ended with RESOURCE_EXHAUSTED and the position to resume from.
  SUBSCRIPTION_MAX_LAG: positive("SUBSCRIPTION_MAX_LAG", 100_000),
  SUBSCRIPTION_LAG_TIMEOUT_MS: positive("SUBSCRIPTION_LAG_TIMEOUT_MS", 60_000),
  // Runs scheduled commands in this process (several processes or replicas may all run one: claims are in the database).
  SCHEDULER: z.enum(["on", "off"], { error: "SCHEDULER must be on or off" }).default("on"),
  // How long a claim holds a scheduled command: a process that dies running one frees it after this.
  SCHEDULER_LEASE_MS: positive("SCHEDULER_LEASE_MS", 60_000),
  // Runs a scheduled command may have before infrastructure failures make it a dead letter.
  SCHEDULER_MAX_ATTEMPTS: positive("SCHEDULER_MAX_ATTEMPTS", 5),
  // The wait before a failed scheduled command's first retry; it doubles on each one, up to SCHEDULER_RETRY_MAX_MS.
  SCHEDULER_RETRY_FIRST_MS: positive("SCHEDULER_RETRY_FIRST_MS", 1000),
  SCHEDULER_RETRY_MAX_MS: positive("SCHEDULER_RETRY_MAX_MS", 60_000),
  // Signs list page tokens (at least 32 characters); replicas behind one balancer need the same one. Absent: a random one per process.
  PAGE_TOKEN_SECRET: z.string().min(32, "PAGE_TOKEN_SECRET must be at least 32 characters").optional(),
  // How long a booking may stay not fully paid before it is cancelled with reason "unpaid".
  UNPAID_BOOKING_TTL: duration("UNPAID_BOOKING_TTL", "48h"),
  // Reactions (reactions/, README "Reactions"): how deep a chain of reactions may go before its
  // command becomes a dead letter, how often a failing effect is tried, and how long a
  // runner's lease on a reaction lasts without renewal.
  // Runs the domain's reactions in this process (they run in one process at a time anyway: a lease in the database).
  REACTIONS: z.enum(["on", "off"], { error: "REACTIONS must be on or off" }).default("on"),
  /** off: this process runs no async projection (another process on the database keeps them). */
  PROJECTIONS: z.enum(["on", "off"], { error: "PROJECTIONS must be on or off" }).default("on"),
  REACTION_MAX_DEPTH: positive("REACTION_MAX_DEPTH", 10),
  REACTION_MAX_ATTEMPTS: positive("REACTION_MAX_ATTEMPTS", 5),
  REACTION_LEASE_MS: positive("REACTION_LEASE_MS", 10_000),
  // How guests are told of their bookings: a log line, or a JSON POST to GUEST_NOTIFIER_URL.
  GUEST_NOTIFIER: z.enum(["log", "webhook"], { error: "GUEST_NOTIFIER must be log or webhook" }).default("log"),
  GUEST_NOTIFIER_URL: z.url({ protocol: /^https?$/, error: "GUEST_NOTIFIER_URL must be an http:// or https:// URL" }).optional(),
  GUEST_NOTIFIER_TIMEOUT_MS: positive("GUEST_NOTIFIER_TIMEOUT_MS", 5000),
  GUEST_NOTIFIER_ATTEMPTS: positive("GUEST_NOTIFIER_ATTEMPTS", 3),
  REFLECTION: z.enum(["on", "off"], { error: "REFLECTION must be on or off" }).default("on"),
  // The read-only explorer page at / on the HTTP port; its calls need the same credentials as any other.
  EXPLORER: z.enum(["on", "off"], { error: "EXPLORER must be on or off" }).default("on"),
  AUTH_MODE: z.enum(["none", "jwt", "mtls"], { error: "AUTH_MODE must be none, jwt or mtls" }).default("none"),
  AUTH_JWT_SECRET: z.string().min(32, "AUTH_JWT_SECRET must be at least 32 characters").optional(),
  AUTH_JWKS_FILE: z.string().optional(),
  AUTH_ISSUER: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  AUTH_TENANT_CLAIM: z.string().default("tenant"),
  AUTH_CLOCK_TOLERANCE_S: z.coerce.number({ error: "AUTH_CLOCK_TOLERANCE_S must be a number" }).int().min(0).max(300).default(30),
  MTLS_SCOPES: z.string().default("*"),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  TLS_CLIENT_CA_FILE: z.string().optional(),
  // GET /metrics on the HTTP port answers without credentials when true; otherwise it needs the API's.
  METRICS_PUBLIC: z.enum(["true", "false"], { error: "METRICS_PUBLIC must be true or false" }).default("false").transform((v) => v === "true"),
  // OpenTelemetry's standard variables: spans are exported over OTLP/HTTP (protobuf) when
  // OTEL_TRACES_EXPORTER=otlp, or when an endpoint is set and OTEL_TRACES_EXPORTER is not; off by default.
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "none"], { error: "OTEL_TRACES_EXPORTER must be otlp or none" }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ error: "OTEL_EXPORTER_OTLP_ENDPOINT must be a URL such as http://localhost:4318" }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ error: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be a URL such as http://localhost:4318/v1/traces" }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default("switchyard"),
  OTEL_SDK_DISABLED: z.enum(["true", "false"], { error: "OTEL_SDK_DISABLED must be true or false" }).default("false").transform((v) => v === "true"),
}).superRefine((c, ctx) => {
  const fail = (variable: string, message: string) => ctx.addIssue({ code: "custom", path: [variable], message });
  if (c.AUTH_MODE === "none" && !isLoopback(c.HOST)) {
    fail("AUTH_MODE", `AUTH_MODE=none is only allowed on a loopback HOST; HOST=${c.HOST} needs AUTH_MODE=jwt or mtls`);
  }
  if (c.AUTH_MODE === "jwt" && !c.AUTH_JWT_SECRET === !c.AUTH_JWKS_FILE) {
    fail("AUTH_JWT_SECRET", "AUTH_MODE=jwt needs exactly one of AUTH_JWT_SECRET (HS256) or AUTH_JWKS_FILE (RS256/ES256)");
  }
  if (c.AUTH_MODE === "mtls" && !c.TLS_CLIENT_CA_FILE) fail("TLS_CLIENT_CA_FILE", "AUTH_MODE=mtls needs TLS_CLIENT_CA_FILE");
  if (c.GUEST_NOTIFIER === "webhook" && !c.GUEST_NOTIFIER_URL) fail("GUEST_NOTIFIER_URL", "GUEST_NOTIFIER=webhook needs GUEST_NOTIFIER_URL");
  if (!c.TLS_CERT_FILE !== !c.TLS_KEY_FILE) fail("TLS_CERT_FILE", "TLS_CERT_FILE and TLS_KEY_FILE go together");
  if (c.TLS_CLIENT_CA_FILE && !c.TLS_CERT_FILE) fail("TLS_CLIENT_CA_FILE", "TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE");
});

/** A DATABASE_URL as logs may show it: a password in it replaced by "***". */
export function withoutPassword(databaseUrl: string): string {
  if (!/^postgres(ql)?:/.test(databaseUrl)) return databaseUrl;
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "postgres://(unreadable URL)";
  }
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

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
