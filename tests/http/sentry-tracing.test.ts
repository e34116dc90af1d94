import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppDatabase, type AppDatabase } from "../support/db";
import { rawRequest } from "../support/http";
import { startNextServer, type NextServer } from "../support/next-server";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver";
import { startSentryRecorder, type SentryRecorder } from "../support/sentry-recorder";

/**
 * Sentry performance tracing follows SENTRY_TRACES_SAMPLE_RATE: at 1 a request's transaction
 * reaches the (local) Sentry; at 0, the default, none does, only check-ins. The server with
 * tracing off also has no OTLP endpoint: it exports no span, even with the per-signal variable
 * the OpenTelemetry SDK itself would read pointing at a live receiver.
 */

const CRON = `cronSecret-${Date.now().toString(36)}-S1s1s1s1`;

/**
 * What Sentry calls a transaction, in either of its envelope forms: a "transaction" item, or
 * (@sentry/nextjs 11 streams spans) a segment span of a "span" item (span v2: is_segment).
 */
const transactions = (sentry: SentryRecorder): Array<{ name: string; raw: unknown }> =>
  sentry.envelopes().flatMap((e) =>
    e.items.flatMap((i) => {
      const payload = i.payload as Record<string, any>;
      if (i.type === "transaction") return [{ name: String(payload.transaction), raw: payload }];
      if (i.type === "span") return ((payload.items ?? []) as Array<Record<string, any>>).filter((s) => s.is_segment).map((s) => ({ name: String(s.name), raw: s }));
      return [];
    }),
  );

describe("Sentry performance tracing", () => {
  let apps: AppDatabase[] = [];
  let sentryOn: SentryRecorder;
  let sentryOff: SentryRecorder;
  let receiver: OtlpReceiver;
  let on: NextServer;
  let off: NextServer;

  beforeAll(async () => {
    apps = [await createAppDatabase(), await createAppDatabase()];
    sentryOn = await startSentryRecorder();
    sentryOff = await startSentryRecorder();
    receiver = await startOtlpReceiver();
    [on, off] = await Promise.all([
      startNextServer({ env: { ...apps[0].env, CRON_SECRET: CRON, SENTRY_DSN: sentryOn.dsn, SENTRY_TRACES_SAMPLE_RATE: "1" } }),
      startNextServer({ env: { ...apps[1].env, CRON_SECRET: CRON, SENTRY_DSN: sentryOff.dsn, SENTRY_TRACES_SAMPLE_RATE: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` } }),
    ]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([on?.stop(), off?.stop()]);
    await Promise.all([sentryOn?.close(), sentryOff?.close(), receiver?.close()]);
    for (const app of apps) await app.dispose();
  });

  it("sends a transaction per traced request at rate 1", async () => {
    const reply = await rawRequest(on.url, "POST", "/api/cron/execute/health-check", { headers: { authorization: `Bearer ${CRON}` } });
    expect(reply.status, reply.text).toBe(200);
    await sentryOn.waitFor((r) => transactions(r).length > 0, 15_000);
    const tx = transactions(sentryOn);
    await sentryOn.waitFor((r) => transactions(r).some((t) => t.name.includes("/api/cron/execute")), 15_000).catch(() => {});
    expect(tx.length).toBeGreaterThan(0);
    expect(transactions(sentryOn).some((t) => t.name.includes("/api/cron/execute")), JSON.stringify(transactions(sentryOn).map((t) => t.name))).toBe(true);
    expect(JSON.stringify(transactions(sentryOn).map((t) => t.raw))).not.toContain(CRON);
  });

  it("sends none at the default rate 0, and no span without an OTLP endpoint", async () => {
    const reply = await rawRequest(off.url, "POST", "/api/cron/execute/health-check", { headers: { authorization: `Bearer ${CRON}` } });
    expect(reply.status, reply.text).toBe(200);
    // The run's check-ins arrive (Sentry is on); give a transaction the same time to follow.
    await sentryOff.waitFor((r) => r.checkIns().length >= 2, 15_000);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(transactions(sentryOff)).toEqual([]);
    expect(receiver.requests()).toEqual([]);
  });
});
