import { describe, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { JobConfigError } from "@/lib/cron/errors";
import { otlpHeaderValues, parseEnv, secretsOf } from "@/lib/env";

/**
 * The monitoring settings as a job and the environment declare them: defaults, the forms each
 * takes, and refusals that name the field. What the settings do is tested where they act (the
 * tick's monitors, the observers, the metrics and retention suites).
 */

const handler = async () => {};
const make = (extra: Record<string, unknown>) => () => defineJob({ name: "nightly-report", schedule: "0 1 * * *", handler, ...extra } as JobConfig);

describe("a job's monitoring settings", () => {
  it("has defaults: late margin from the plan, max runtime at 80% of the timeout, regression 3x over 50 runs, thresholds from the environment", () => {
    const job = make({ timeout: "100s" })();
    expect(job.expect).toBeNull();
    expect(job.alerts).toMatchObject({
      lateAlerts: true,
      lateAfterMs: null,
      maxRuntimeMs: 80_000,
      regression: { factor: 3, window: 50, minRuns: 10 },
      failureRate: { abovePercent: null, windowMs: null, minRuns: null },
      timeoutRate: { abovePercent: null, windowMs: null, minRuns: null },
      lockContention: { abovePercent: null, windowMs: null, minRuns: null },
    });
  });

  it("takes explicit values in the duration forms the rest of the definition uses", () => {
    const expectation = (output: unknown) => (output as { n: number }).n > 0 || "processed nothing";
    const job = make({
      timeout: "2m",
      expect: expectation,
      alerts: { lateAfter: "5m", maxRuntime: 90, regression: { factor: 5, window: 20, minRuns: 5 }, failureRate: { above: 25, window: "6h", minRuns: 4 }, timeoutRate: false, lockContention: { above: 90 } },
    })();
    expect(job.expect).toBe(expectation);
    expect(job.alerts).toMatchObject({
      lateAfterMs: 300_000,
      maxRuntimeMs: 90_000,
      regression: { factor: 5, window: 20, minRuns: 5 },
      failureRate: { abovePercent: 25, windowMs: 21_600_000, minRuns: 4 },
      timeoutRate: null,
      lockContention: { abovePercent: 90, windowMs: null, minRuns: null },
    });
  });

  it("turns each alert off with false", () => {
    const job = make({ alerts: { lateAfter: false, maxRuntime: false, regression: false, failureRate: false, timeoutRate: false, lockContention: false } })();
    expect(job.alerts).toMatchObject({ lateAlerts: false, lateAfterMs: null, maxRuntimeMs: null, regression: null, failureRate: null, timeoutRate: null, lockContention: null });
  });

  it.each([
    [{ alerts: { maxRuntime: "5m" } }, /job "nightly-report": alerts\.maxRuntime is 5m, not shorter than the timeout \(4m\)/],
    [{ alerts: { lateAfter: "soon" } }, /job "nightly-report": alerts\.lateAfter/],
    [{ alerts: { regression: { factor: 1 } } }, /alerts\.regression\.factor must be more than 1/],
    [{ alerts: { failureRate: { above: 120 } } }, /alerts\.failureRate\.above must be a percent from 0 to 100/],
    [{ alerts: { timeoutRate: true } }, /alerts\.timeoutRate/],
    [{ alerts: { lockContention: { above: 50, every: "1h" } } }, /alerts\.lockContention has unknown field\(s\) every/],
    [{ expect: "non-empty" }, /job "nightly-report": expect must be a function/],
  ])("refuses %j, naming the job and the field", (extra, message) => {
    expect(make(extra)).toThrow(JobConfigError);
    expect(make(extra)).toThrow(message);
  });
});

describe("the environment's monitoring settings", () => {
  it("has defaults", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      CRON_ALERT_RETENTION_DAYS: 90,
      CRON_AUDIT_RETENTION_DAYS: 365,
      CRON_DEAD_LETTER_RETENTION_DAYS: 30,
      CRON_CLEANUP_BATCH_SIZE: 5_000,
      CRON_ALERT_FAILURE_RATE: 10,
      CRON_ALERT_TIMEOUT_RATE: 5,
      CRON_ALERT_LOCK_CONTENTION: 70,
      CRON_ALERT_RATE_WINDOW: 3_600_000,
      CRON_ALERT_RATE_MIN_RUNS: 10,
      CRON_ALERT_DLQ_PENDING: 10,
      CRON_ALERT_DLQ_AGE: 86_400_000,
      CRON_ALERT_STALE_LEASE: 600_000,
      CRON_DEAD_LETTER_DIGEST: false,
      SENTRY_TRACES_SAMPLE_RATE: 0,
      OTEL_SERVICE_NAME: "crondeck",
    });
    expect(env.METRICS_TOKEN).toBeUndefined();
    expect(env.TICK_HEARTBEAT_URL).toBeUndefined();
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  });

  it("parses durations with their unit and percents", () => {
    const env = parseEnv({ CRON_ALERT_RATE_WINDOW: "30m", CRON_ALERT_DLQ_AGE: "2d", CRON_ALERT_STALE_LEASE: "90s", CRON_ALERT_FAILURE_RATE: "12.5", SENTRY_TRACES_SAMPLE_RATE: "0.25" });
    expect(env).toMatchObject({ CRON_ALERT_RATE_WINDOW: 1_800_000, CRON_ALERT_DLQ_AGE: 172_800_000, CRON_ALERT_STALE_LEASE: 90_000, CRON_ALERT_FAILURE_RATE: 12.5, SENTRY_TRACES_SAMPLE_RATE: 0.25 });
  });

  it.each([
    [{ CRON_ALERT_RATE_WINDOW: "10" }, /CRON_ALERT_RATE_WINDOW must be a duration such as 30s, 10m, 24h or 7d/],
    [{ CRON_ALERT_LOCK_CONTENTION: "170" }, /CRON_ALERT_LOCK_CONTENTION must be a percent from 0 to 100/],
    [{ SENTRY_TRACES_SAMPLE_RATE: "2" }, /SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1/],
    [{ CRON_AUDIT_RETENTION_DAYS: "0" }, /CRON_AUDIT_RETENTION_DAYS must be a positive whole number/],
    [{ TICK_HEARTBEAT_URL: "hc-ping.com/abc" }, /TICK_HEARTBEAT_URL must be an http\(s\) URL/],
    [{ METRICS_TOKEN: "short" }, /METRICS_TOKEN must be at least 16 characters/],
    [{ METRICS_TOKEN: "a".repeat(8) + "b".repeat(8) + "c".repeat(8), ADMIN_TOKEN: "a".repeat(8) + "b".repeat(8) + "c".repeat(8) }, /METRICS_TOKEN must not equal ADMIN_TOKEN/],
  ])("refuses %j with a message naming the variable", (source, message) => {
    expect(() => parseEnv(source)).toThrow(message);
  });

  it("treats the metrics token, the dead-man URL and the OTLP header values as secrets", () => {
    const token = "f".repeat(20) + "0123456789abcdef";
    const ping = "https://hc-ping.com/5b1e8f5c-3a6f-4c1a-9d7e-2b7f0c1e9a4d";
    const env = parseEnv({ METRICS_TOKEN: token, TICK_HEARTBEAT_URL: ping, OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=key-0123456789,tenant=t1" });
    const secrets = secretsOf(env);
    expect(secrets).toContain(token);
    expect(secrets).toContain(ping);
    expect(secrets).toContain("key-0123456789");
    expect(otlpHeaderValues("x-api-key=key-0123456789,tenant=t1,enc=a%2Cb")).toEqual(["key-0123456789", "t1", "a,b"]);
    expect(otlpHeaderValues(undefined)).toEqual([]);
  });
});
