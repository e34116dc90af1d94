import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppDatabase, type AppDatabase } from "../support/db";
import { rawRequest } from "../support/http";
import { startNextServer, type NextServer } from "../support/next-server";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver";
import { startSentryRecorder, type SentryRecorder } from "../support/sentry-recorder";

/**
 * Run spans through `next start`: instrumentation.ts sets up the exporter from the environment,
 * the runtime wraps the engine's observers; a local OTLP/HTTP receiver records what arrives.
 * Sentry is on too (a local recorder, tracing at its default 0), as in production: its
 * unsampled request span must not swallow the run spans.
 */

const tag = Date.now().toString(36);
const CRON = `cronSecret-${tag}-T1t1t1t1`;
const OTLP_KEY = `otlpKey-${tag}-Y2y2y2y2`;

describe("OpenTelemetry spans of runs, through next start", () => {
  let app: AppDatabase;
  let receiver: OtlpReceiver;
  let server: NextServer;
  let sentry: SentryRecorder;
  beforeAll(async () => {
    app = await createAppDatabase();
    receiver = await startOtlpReceiver();
    sentry = await startSentryRecorder();
    server = await startNextServer({
      env: { ...app.env, CRON_SECRET: CRON, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${OTLP_KEY}`, OTEL_SERVICE_NAME: "crondeck-http-test", METRICS_TOKEN: undefined, SENTRY_DSN: sentry.dsn },
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await sentry?.close();
    await app?.dispose();
  });

  it("has a crondeck.run span with its attempt at the receiver before the trigger's answer", async () => {
    // health-check runs every 5 minutes: the slot before the current one.
    const slot = new Date(Math.floor(Date.now() / 300_000) * 300_000 - 300_000).toISOString();
    const reply = await rawRequest(server.url, "POST", `/api/cron/execute/health-check?trigger=tick&slot=${slot}`, { headers: { authorization: `Bearer ${CRON}` } });
    expect(reply.status, reply.text).toBe(200);
    const runId = reply.body.execution.id;
    // No waiting: the span was flushed before the response.
    const spans = receiver.spans().filter((s) => s.attributes["crondeck.run_id"] === runId);
    const run = spans.find((s) => s.name === "crondeck.run");
    expect(run, JSON.stringify(receiver.spans().map((s) => s.name))).toBeDefined();
    expect(run!.attributes).toMatchObject({ "crondeck.job": "health-check", "crondeck.trigger": "tick", "crondeck.slot": slot, "crondeck.status": "completed", "crondeck.attempts": 1 });
    expect(run!.resource["service.name"]).toBe("crondeck-http-test");
    const attempt = spans.find((s) => s.name === "crondeck.attempt");
    expect(attempt?.parentSpanId).toBe(run!.spanId);
    expect(receiver.requests().every((r) => r.headers.authorization === `Bearer ${OTLP_KEY}`)).toBe(true);

    // The same slot again: a duplicate, whose skip span follows within the batch delay.
    const again = await rawRequest(server.url, "POST", `/api/cron/execute/health-check?trigger=tick&slot=${slot}`, { headers: { authorization: `Bearer ${CRON}` } });
    expect(again.body).toMatchObject({ skipped: true, reason: "duplicate" });
    const all = await receiver.waitFor((s) => s.some((x) => x.name === "crondeck.skip"), 10_000);
    expect(all.find((s) => s.name === "crondeck.skip")!.attributes).toMatchObject({ "crondeck.job": "health-check", "crondeck.skip_reason": "duplicate", "crondeck.status": "skipped", "crondeck.slot": slot });
    // No secret in any span, resource or attribute.
    const exported = receiver.requests().map((r) => r.body).join("\n");
    for (const secret of [CRON, OTLP_KEY]) expect(exported).not.toContain(secret);
  });

  it("answers /api/metrics 404 with how to turn it on while METRICS_TOKEN is unset", async () => {
    const reply = await rawRequest(server.url, "GET", "/api/metrics", { headers: { authorization: `Bearer ${CRON}` } });
    expect(reply.status).toBe(404);
    expect(reply.body).toMatchObject({ success: false, code: "metrics_not_configured" });
    expect(JSON.stringify(reply.body)).toMatch(/Set METRICS_TOKEN/);
  });
});
