import * as Sentry from "@sentry/nextjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureRunFailure, checkInFinished, checkInStarted, flushSentry, monitorConfigFor, normaliseErrorMessage, sentryEnabled } from "@/lib/alerts/sentry";
import { defineJob } from "@/lib/cron/define-job";
import type { RunReport } from "@/lib/cron/run-job";
import { startSentryRecorder, type SentryRecorder } from "../support/sentry-recorder";

/**
 * Sentry end to end: the project's own sentry.server.config.ts initialises @sentry/nextjs with a
 * DSN that points at a local recorder, and the envelopes the SDK posts are parsed back.
 * A file of its own: Sentry.init is process-wide, and vitest runs each file in its own fork.
 */

const job = defineJob({
  name: "nightly-report",
  schedule: { cron: "30 2 * * *", timezone: "Europe/Paris" },
  category: "reports",
  timeout: "90s",
  alerts: { afterConsecutiveFailures: 2 },
  handler: () => {},
});

/** The fields captureRunFailure reads; the engine's RunReport has more (and is still growing). */
function failedRun(): RunReport {
  const error = new Error("upstream answered 503 after 1250ms");
  return {
    id: "0b8f3c2e-9d41-4a57-8e0c-5f6a7b8c9d01",
    jobName: job.name,
    status: "failed",
    trigger: "schedule",
    scheduledFor: new Date("2026-03-01T01:30:00.000Z"),
    durationMs: 1300,
    attempts: 3,
    error: error.message,
    errorStack: error.stack ?? null,
  } as RunReport;
}

describe("Sentry without a DSN", () => {
  it("is off, and every call is a no-op", async () => {
    expect(sentryEnabled()).toBe(false);
    expect(captureRunFailure(failedRun(), job)).toBeUndefined();
    expect(checkInStarted(job, "pro")).toBeUndefined();
    checkInFinished(job, "abc", "ok", 10);
    expect(await flushSentry(100)).toBe(false);
  });
});

describe("monitorConfigFor", () => {
  it("maps the job's schedule, timeout and alert threshold, with the plan's margin", () => {
    expect(monitorConfigFor(job, "pro")).toEqual({
      schedule: { type: "crontab", value: "30 2 * * *" },
      timezone: "Europe/Paris",
      checkinMargin: 1,
      maxRuntime: 2,
      failureIssueThreshold: 2,
      recoveryThreshold: 1,
    });
    expect(monitorConfigFor(job, "hobby")?.checkinMargin).toBe(60);
  });

  it("normalises digits in the fingerprint", () => {
    expect(normaliseErrorMessage("upstream answered 503 after 1250ms")).toBe("upstream answered 0 after 0ms");
  });
});

describe("Sentry with a DSN (sentry.server.config.ts)", () => {
  let recorder: SentryRecorder;

  beforeAll(async () => {
    recorder = await startSentryRecorder();
    process.env.SENTRY_DSN = recorder.dsn;
    process.env.SENTRY_ENVIRONMENT = "crondeck-test";
    await import("@/sentry.server.config");
  });

  afterAll(async () => {
    await Sentry.close(2_000);
    await recorder?.close();
    delete process.env.SENTRY_DSN;
    delete process.env.SENTRY_ENVIRONMENT;
  });

  it("reports a failed run with its tags, fingerprint and extras", async () => {
    expect(sentryEnabled()).toBe(true);
    const report = failedRun();
    const eventId = captureRunFailure(report, job);
    expect(eventId).toMatch(/^[0-9a-f]{32}$/);
    expect(await flushSentry()).toBe(true);
    await recorder.waitFor((r) => r.events().some((e) => e.event_id === eventId));

    const event = recorder.events().find((e) => e.event_id === eventId)!;
    expect(event.environment).toBe("crondeck-test");
    expect(event.tags).toMatchObject({
      job_name: "nightly-report",
      category: "reports",
      trigger: "schedule",
      attempts: "3",
      slot: "2026-03-01T01:30:00.000Z",
    });
    expect(event.fingerprint).toEqual(["crondeck", "nightly-report", "upstream answered 0 after 0ms"]);
    expect(event.extra).toMatchObject({ runId: report.id, durationMs: 1300 });
    const exception = event.exception.values[0];
    expect(exception.type).toBe("CronJobFailure");
    expect(exception.value).toBe("upstream answered 503 after 1250ms");
    // The run's own stack: its top frame is this test file, where the error was made.
    expect(exception.stacktrace.frames.some((f: { filename?: string }) => f.filename?.includes("alerts-sentry.test.ts"))).toBe(true);
    // No request, user or server data beyond the error.
    expect(event.user).toBeUndefined();
    expect(event.request).toBeUndefined();
  });

  it("sends an in_progress check-in with the monitor config, then an error check-in with the duration", async () => {
    const checkInId = checkInStarted(job, "hobby");
    expect(checkInId).toMatch(/^[0-9a-f]{32}$/);
    checkInFinished(job, checkInId, "error", 1_300);
    expect(await flushSentry()).toBe(true);
    await recorder.waitFor((r) => r.checkIns().filter((c) => c.check_in_id === checkInId).length === 2);

    const [started, finished] = recorder.checkIns().filter((c) => c.check_in_id === checkInId);
    expect(started).toMatchObject({
      monitor_slug: "nightly-report",
      status: "in_progress",
      environment: "crondeck-test",
      monitor_config: {
        schedule: { type: "crontab", value: "30 2 * * *" },
        timezone: "Europe/Paris",
        checkin_margin: 60,
        max_runtime: 2,
        failure_issue_threshold: 2,
        recovery_threshold: 1,
      },
    });
    expect(finished).toMatchObject({ monitor_slug: "nightly-report", status: "error", duration: 1.3 });
    expect(finished.monitor_config).toBeUndefined();
  });

  it("posts envelopes to /api/<project>/envelope/ with the DSN's key", () => {
    const paths = recorder.server.requests.map((r) => r.path);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const url = new URL(path, "http://recorder");
      expect(url.pathname).toBe("/api/1/envelope/");
      expect(url.searchParams.get("sentry_key")).toBe("public");
      expect(url.searchParams.get("sentry_client")).toMatch(/^sentry\.javascript\.nextjs\//);
    }
  });
});
