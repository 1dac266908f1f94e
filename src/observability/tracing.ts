import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { Code } from "@connectrpc/connect";
import type { CallWatch, IncomingCall } from "../edge/call-lifecycle.js";
import { codeName } from "../edge/rpc-outcome.js";
import type { PipelineHooks } from "../pipeline/hooks.js";

/** The W3C trace-context headers (traceparent, tracestate), read and written the same on both ports. */
const propagator = new W3CTraceContextPropagator();

/** Reads trace headers from a call's headers (gRPC metadata or HTTP headers). */
const callHeaders: TextMapGetter<IncomingCall> = {
  get: (call, key) => call.header(key),
  keys: () => ["traceparent", "tracestate"],
};

/** Reads a stored traceparent. */
const storedTrace: TextMapGetter<{ traceparent?: string }> = {
  get: (carrier, key) => (key === "traceparent" ? carrier.traceparent : undefined),
  keys: () => ["traceparent"],
};

/** gRPC codes that make a server span an error (OpenTelemetry's RPC conventions); a caller's mistake does not. */
const SERVER_ERRORS = new Set<number>([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

/** Pipeline stages that get a child span of the command's. */
const TRACED_STAGES = new Set(["load", "decide", "append"]);

/** The traceparent of a context's span, when it has a valid one. */
export function traceparentOf(ctx: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, { set: (c, key, value) => (c[key] = value) });
  return carrier.traceparent;
}

/** The context a stored traceparent continues (ROOT_CONTEXT when there is none or it is malformed). */
export function continuing(traceparent: string | undefined): Context {
  return propagator.extract(ROOT_CONTEXT, { traceparent }, storedTrace);
}

/**
 * Trace spans through @opentelemetry/api: one SERVER span per RPC (its parent the caller's
 * `traceparent`, on either port), inside it one span per command with child spans for load,
 * decide and append (attributes: command type, aggregate id, outcome, retries). Spans record
 * only when a tracer provider is registered (trace-export.ts); without one they cost a no-op
 * span each, and an incoming traceparent is still passed on to the command's events.
 */
export function createTracing(tracer: Tracer = trace.getTracer("switchyard")) {
  function watchCall(incoming: IncomingCall): CallWatch {
    const parent = propagator.extract(ROOT_CONTEXT, incoming, callHeaders);
    const slash = incoming.method.lastIndexOf("/");
    const service = incoming.method.slice(1, slash);
    const method = incoming.method.slice(slash + 1);
    const span = tracer.startSpan(
      `${service}/${method}`,
      { kind: SpanKind.SERVER, attributes: { "rpc.system": incoming.protocol === "grpc" ? "grpc" : "connect_rpc", "rpc.service": service, "rpc.method": method, "switchyard.protocol": incoming.protocol } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    return {
      traceparent: traceparentOf(ctx),
      run: (work) => context.with(ctx, work),
      end(code) {
        span.setAttribute("rpc.grpc.status_code", code);
        if (SERVER_ERRORS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: codeName(code) });
        span.end();
      },
    };
  }

  const pipelineHooks: PipelineHooks = {
    around(envelope, run) {
      const active = context.active();
      // Inside an RPC its span is the parent; a command from a consumer continues the trace of the event that caused it.
      const parent = trace.getSpan(active) ? active : continuing(envelope.metadata?.traceparent);
      const type = String(envelope.type).slice(0, 128);
      const span = tracer.startSpan(`command ${type}`, { attributes: { "switchyard.command.type": type, "switchyard.command.dry_run": envelope.dryRun === true, "switchyard.command.retries": 0 } }, parent);
      return context.with(trace.setSpan(parent, span), async () => {
        try {
          return await run();
        } finally {
          span.end();
        }
      });
    },
    traceparent: () => traceparentOf(context.active()),
    stage(timing) {
      if (!TRACED_STAGES.has(timing.stage)) return;
      tracer
        .startSpan(timing.stage, { startTime: timing.startedAt, attributes: { "switchyard.command.type": timing.commandType, "switchyard.aggregate.id": timing.aggregateId } }, context.active())
        .end(timing.startedAt + timing.durationMs);
    },
    retried: (retry) => trace.getActiveSpan()?.setAttribute("switchyard.command.retries", retry.retry),
    ended({ result }) {
      const span: Span | undefined = trace.getActiveSpan();
      if (!span) return;
      span.setAttributes({
        "switchyard.command.id": result.commandId,
        "switchyard.aggregate.id": result.aggregateId,
        "switchyard.command.outcome": result.status,
        "switchyard.command.replayed": result.replayed,
      });
      if (result.status === "failed" || result.status === "unavailable") span.setStatus({ code: SpanStatusCode.ERROR, message: result.status });
    },
  };

  return { watchCall, pipelineHooks };
}
