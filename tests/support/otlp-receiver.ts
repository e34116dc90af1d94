import { startRecordingServer, type RecordedRequest, type RecordingServer } from "./recording-server";

/**
 * A local OTLP/HTTP trace receiver (a collector's /v1/traces): records every export request and
 * decodes the JSON encoding of ExportTraceServiceRequest
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp). A protobuf export is recorded but not
 * decoded (Crondeck's exporter sends JSON); `requests` keeps both, with their headers.
 */

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values: AnyValue[] } };

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  kind: number;
  startMs: number;
  endMs: number;
  /** Attribute values by key, decoded (intValue as a number). */
  attributes: Record<string, string | number | boolean | unknown[]>;
  status: { code: number; message?: string };
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  /** The resource's attributes (service.name, ...). */
  resource: Record<string, unknown>;
  /** The span as it arrived. */
  raw: unknown;
}

export interface OtlpReceiver {
  /** The base endpoint, for OTEL_EXPORTER_OTLP_ENDPOINT (traces go to <url>/v1/traces). */
  url: string;
  server: RecordingServer;
  requests(): RecordedRequest[];
  spans(): ReceivedSpan[];
  /** Resolves when `predicate` holds for the received spans (polls every 20 ms). */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

function valueOf(v: AnyValue | undefined): string | number | boolean | unknown[] {
  if (!v) return "";
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return v.arrayValue.values.map(valueOf);
  return "";
}

const attributesOf = (list: Array<{ key: string; value: AnyValue }> | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
const nanosToMs = (n: string | number | undefined) => (n === undefined ? NaN : Number(BigInt(String(n)) / 1_000n) / 1000);

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const server = await startRecordingServer({ status: (req) => (req.method === "POST" && req.path.startsWith("/v1/traces") ? 200 : 404), responseBody: () => "{}" });
  const requests = () => server.requests.filter((r) => r.method === "POST" && r.path.startsWith("/v1/traces"));
  const spans = (): ReceivedSpan[] =>
    requests().flatMap((r) => {
      const body = r.json as { resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: AnyValue }> }; scopeSpans?: Array<{ spans?: any[] }> }> } | undefined;
      return (body?.resourceSpans ?? []).flatMap((rs) =>
        (rs.scopeSpans ?? []).flatMap((ss) =>
          (ss.spans ?? []).map(
            (s): ReceivedSpan => ({
              name: s.name,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || null,
              kind: s.kind,
              startMs: nanosToMs(s.startTimeUnixNano),
              endMs: nanosToMs(s.endTimeUnixNano),
              attributes: attributesOf(s.attributes),
              status: { code: s.status?.code ?? 0, message: s.status?.message },
              events: (s.events ?? []).map((e: { name: string; attributes?: Array<{ key: string; value: AnyValue }> }) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
              resource: attributesOf(rs.resource?.attributes),
              raw: s,
            }),
          ),
        ),
      );
    });
  return {
    url: server.url,
    server,
    requests,
    spans,
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(spans())) {
        if (Date.now() > deadline) throw new Error(`the OTLP receiver did not get the expected spans within ${timeoutMs} ms; it has: ${JSON.stringify(spans().map((s) => ({ name: s.name, attributes: s.attributes })))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return spans();
    },
    close: () => server.close(),
  };
}
