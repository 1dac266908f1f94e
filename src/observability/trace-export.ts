import type { Config } from "../config.js";

/** The OTLP/HTTP path of traces under a base endpoint (the OpenTelemetry exporter specification). */
const TRACES_PATH = "/v1/traces";

/**
 * Where spans are exported, from the standard variables: OTEL_TRACES_EXPORTER=otlp, or an
 * OTLP endpoint set while OTEL_TRACES_EXPORTER is unset; undefined (no exporting) otherwise.
 */
export function traceExportUrl(config: Pick<Config, "OTEL_TRACES_EXPORTER" | "OTEL_EXPORTER_OTLP_ENDPOINT" | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" | "OTEL_SDK_DISABLED">): string | undefined {
  if (config.OTEL_SDK_DISABLED) return undefined;
  const endpoint = config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (config.OTEL_EXPORTER_OTLP_ENDPOINT && config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, "") + TRACES_PATH);
  if (config.OTEL_TRACES_EXPORTER === "otlp") return endpoint ?? `http://localhost:4318${TRACES_PATH}`;
  if (config.OTEL_TRACES_EXPORTER === undefined) return endpoint;
  return undefined;
}

/**
 * Starts exporting spans over OTLP (protobuf over HTTP) when the configuration asks for it:
 * registers a tracer provider, the async-hooks context manager and the W3C propagator for the
 * process. Returns how to flush and stop, or undefined when exporting is off (the default).
 */
export async function startTraceExport(config: Config): Promise<{ shutdown(): Promise<void> } | undefined> {
  const url = traceExportUrl(config);
  if (!url) return undefined;
  // Loaded only when exporting: the SDK and the exporter take seconds to import on a busy machine.
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor }, { NodeTracerProvider }] = await Promise.all([
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/sdk-trace-node"),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": config.OTEL_SERVICE_NAME }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}
