import * as Sentry from "@sentry/nextjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertDispatcher } from "@/lib/alerts";
import { flushSentry } from "@/lib/alerts/sentry";
import { createRuntime } from "@/lib/app/runtime";
import { deliverTick, tickJob } from "@/lib/app/tick";
import { systemClock } from "@/lib/cron/clock";
import { JobRegistry } from "@/lib/cron/registry";
import { parseEnv } from "@/lib/env";
import { VERCEL_PLANS } from "@/lib/vercel/crons";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startSentryRecorder, type SentryRecorder } from "../support/sentry-recorder";

/**
 * The tick's Sentry Crons monitor, end to end: a real tick delivery (deliverTick, the runtime's
 * observers) with Sentry initialised by the project's sentry.server.config.ts against a local
 * recorder. The monitor it creates expects check-ins on the tick's real schedule for the plan
 * (vercel.json's: daily on Hobby, every minute on Pro), not the every-minute schedule it claims
 * its runs by. A file of its own: Sentry.init is process-wide.
 */

let recorder: SentryRecorder;
let database: TestDatabase;

beforeAll(async () => {
  recorder = await startSentryRecorder();
  process.env.SENTRY_DSN = recorder.dsn;
  process.env.SENTRY_ENVIRONMENT = "crondeck-test";
  await import("@/sentry.server.config");
  database = await createTestDatabase("pglite");
});

afterAll(async () => {
  await Sentry.close(2_000);
  await recorder?.close();
  await database?.dispose();
  delete process.env.SENTRY_DSN;
  delete process.env.SENTRY_ENVIRONMENT;
});

describe("the tick's Sentry cron monitor", () => {
  it.each(VERCEL_PLANS.map((plan, i) => [plan, i] as const))("on %s: a tick run checks in (in_progress, then ok) with the plan's schedule and margin", async (plan, i) => {
    const env = parseEnv({ CRON_SECRET: "sentry-tick-secret-0123456789", CRON_PLAN: plan, SENTRY_DSN: recorder.dsn });
    const runtime = createRuntime({ env, database, registry: new JobRegistry([]), dispatcher: new AlertDispatcher({ db: database.db, channels: [] }) });
    // Each plan's delivery claims a minute of its own.
    const clock = { ...systemClock, now: () => Date.now() - (i + 1) * 600_000 };
    const seen = recorder.checkIns().length;
    const outcome = await deliverTick({ ...runtime, engine: { ...runtime.engine, clock } }, { baseUrl: "http://127.0.0.1:9", budgetMs: 30_000 });
    expect(outcome.kind).toBe("ran");
    await flushSentry();
    const fresh = () => recorder.checkIns().slice(seen).filter((c) => c.monitor_slug === tickJob.name);
    await recorder.waitFor(() => fresh().some((c) => c.status === "in_progress") && fresh().some((c) => c.status === "ok"));

    const started = fresh().find((c) => c.status === "in_progress")!;
    expect(started).toMatchObject({
      monitor_slug: "crondeck-tick",
      environment: "crondeck-test",
      monitor_config: {
        schedule: { type: "crontab", value: plan === "hobby" ? "0 0 * * *" : "* * * * *" },
        timezone: "UTC",
        checkin_margin: plan === "hobby" ? 60 : 1,
        max_runtime: 1,
      },
    });
    const finished = fresh().find((c) => c.status === "ok")!;
    expect(finished.check_in_id).toBe(started.check_in_id);
    expect(finished.duration).toBeGreaterThanOrEqual(0);
    expect(finished.monitor_config).toBeUndefined();
  });
});
