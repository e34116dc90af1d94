import { defineJob, type JobDefinition } from "../cron/define-job";

/**
 * Jobs for the monitoring tests over HTTP (tests/http/expect-regression.test.ts), loaded with
 * the fault suite's jobs (CRONDECK_FAULT_JOBS=1) and never on a Vercel production deployment.
 * Nobody dispatches them (a yearly slot, not in vercel.json); the tests trigger them.
 */
const common = {
  schedule: "0 0 1 1 *",
  category: "faults",
  timeout: "10s",
  // Every failure alerts at once, in a window the test controls; no run pauses the job.
  alerts: { afterConsecutiveFailures: 1, reAlertAfter: "1h" },
  deadLetter: { pauseAfter: 1000, replayLimit: 100 },
} as const;

/** How long monitor-slow's handler works: 10x the history the regression test writes (20 ms). */
export const MONITOR_SLOW_MS = 200;

export const monitorJobs: readonly JobDefinition[] = [
  // "Did it do work": returns 200-style success with nothing processed; its expect refuses that.
  defineJob({
    ...common,
    name: "monitor-empty",
    description: "Monitoring tests: a run that returns but processed nothing (expect fails it)",
    retries: 1,
    backoff: { strategy: "fixed", delay: "100ms" },
    handler: async (ctx) => {
      ctx.log("looked for work, found none");
      return { processed: 0 };
    },
    expect: (output) => (output as { processed: number }).processed > 0 || "processed nothing",
  }),
  // A run of a known length, judged against the history the test writes (alerts.regression).
  defineJob({
    ...common,
    name: "monitor-slow",
    description: "Monitoring tests: a run that takes a known time, for the duration-regression alert",
    alerts: { ...common.alerts, regression: { factor: 3, window: 20, minRuns: 10 } },
    handler: async (ctx) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, MONITOR_SLOW_MS);
        ctx.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
      });
      return { sleptMs: MONITOR_SLOW_MS };
    },
  }),
];
