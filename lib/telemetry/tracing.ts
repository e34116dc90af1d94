import type { Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { otlpHeaders, type Env } from "../env";

export { otlpHeaders };

/**
 * OpenTelemetry traces of Crondeck's runs, exported over OTLP/HTTP (JSON) when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set; without it nothing is created and nothing is sent.
 *
 * The provider is Crondeck's own and is not registered as the global one: @sentry/nextjs and
 * Next.js use the global OpenTelemetry API for their own spans, and the run spans do not depend
 * on what they register (each span is created from this tracer with its parent passed
 * explicitly). One provider per process, kept on globalThis, because instrumentation.ts and the
 * route handlers are separate bundles with separate module state.
 */

export interface Tracing {
  tracer: Tracer;
  /** Exports every ended span now; resolves within `timeoutMs` even when the collector does not answer. */
  flush(timeoutMs?: number): Promise<void>;
  shutdown(): Promise<void>;
}

/** How long a flush before the response may take: a collector that does not answer never holds a run's answer longer. */
export const FLUSH_TIMEOUT_MS = 2_000;

/** Where OTLP/HTTP traces go for a base endpoint (the spec's OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces"). */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

type TracingEnv = Pick<Env, "OTEL_EXPORTER_OTLP_ENDPOINT" | "OTEL_EXPORTER_OTLP_HEADERS" | "OTEL_SERVICE_NAME">;

/** A tracer exporting to the environment's endpoint; null when no endpoint is set. */
export function createTracing(env: TracingEnv, codeVersion: string | null): Tracing | null {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return null;
  const exporter = new OTLPTraceExporter({ url: tracesUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT), headers: otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), timeoutMillis: 5_000 });
  // Spans wait at most a second in this process when no run flushes them (a skip's span).
  const processor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000, exportTimeoutMillis: 5_000, maxQueueSize: 2_048 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME, ...(codeVersion ? { [ATTR_SERVICE_VERSION]: codeVersion } : {}) }),
    spanProcessors: [processor],
    // Every run is traced (a run is rare next to requests); not ParentBased, so no other
    // tracer's unsampled context can drop a run's span.
    sampler: new AlwaysOnSampler(),
  });
  return {
    tracer: provider.getTracer("crondeck"),
    async flush(timeoutMs = FLUSH_TIMEOUT_MS) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      try {
        await Promise.race([provider.forceFlush().catch(() => {}), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    shutdown: () => provider.shutdown(),
  };
}

const GLOBAL_KEY = Symbol.for("crondeck.tracing");
type Holder = { [GLOBAL_KEY]?: { key: string; tracing: Tracing | null } };

/**
 * The process's tracing for this environment, made on first use (instrumentation.ts calls it at
 * start-up, the runtime when it builds the engine); made again only if the OTLP settings change.
 */
export function getTracing(env: TracingEnv, codeVersion: string | null): Tracing | null {
  const holder = globalThis as Holder;
  const key = JSON.stringify([env.OTEL_EXPORTER_OTLP_ENDPOINT ?? null, env.OTEL_EXPORTER_OTLP_HEADERS ?? null, env.OTEL_SERVICE_NAME, codeVersion]);
  if (holder[GLOBAL_KEY]?.key === key) return holder[GLOBAL_KEY].tracing;
  void holder[GLOBAL_KEY]?.tracing?.shutdown().catch(() => {});
  const tracing = createTracing(env, codeVersion);
  holder[GLOBAL_KEY] = { key, tracing };
  return tracing;
}
