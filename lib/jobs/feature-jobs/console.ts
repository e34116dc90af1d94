import { defineJob, type JobDefinition } from "../../cron/define-job";

/**
 * Jobs the console tests look at over a month of history (tests/support/month-history.ts seeds
 * their runs; loaded with CRONDECK_FEATURE_JOBS=1, never in production). Each stands for a kind
 * of job a team has: a frequent sync, an hourly rollup, a nightly report in a timezone, one an
 * operator paused, one the failure path dead-lettered, a daily export whose manual run's holder
 * died. Their handlers are real and quick: a test may run any of them from the dashboard.
 */
const base = { category: "feature-console", retries: 0, timeout: "30s", alerts: { afterConsecutiveFailures: 99 } } as const;

const sync = defineJob({
  ...base,
  name: "console-sync",
  schedule: "*/5 * * * *",
  description: "Console tests: syncs accounts every 5 minutes",
  handler: (ctx) => ({ slot: ctx.scheduledFor?.toISOString() ?? null, synced: 42 }),
});

const hourly = defineJob({
  ...base,
  name: "console-hourly",
  schedule: "0 * * * *",
  description: "Console tests: rolls up the hour's events",
  handler: () => ({ rolledUp: 1 }),
});

const nightly = defineJob({
  ...base,
  name: "console-nightly",
  schedule: { cron: "0 2 * * *", timezone: "Europe/Paris" },
  description: "Console tests: the nightly report at 02:00 in Paris",
  handler: () => ({ report: "ok" }),
});

const paused = defineJob({
  ...base,
  name: "console-paused",
  schedule: "30 * * * *",
  description: "Console tests: hourly at :30, paused by an operator",
  handler: () => "ran",
});

const deadLettered = defineJob({
  ...base,
  name: "console-dead",
  schedule: "0 */6 * * *",
  description: "Console tests: every 6 hours, dead-lettered after failures in a row",
  handler: () => "ran",
});

const exporter = defineJob({
  ...base,
  name: "console-export",
  schedule: "0 4 * * *",
  description: "Console tests: a daily export at 04:00 UTC; a manual run's holder died",
  handler: () => ({ exported: 3 }),
});

export const consoleFeatureJobs: JobDefinition[] = [sync, hourly, nightly, paused, deadLettered, exporter];
