import { defineJob, type JobDefinition } from "../../cron/define-job";

/**
 * Jobs the backfill tests run against a real server (loaded with CRONDECK_FEATURE_JOBS=1, never
 * in production). Hourly UTC cron jobs, so Vercel Cron would dispatch them: no scheduler runs in
 * the tests, so only a backfill (or a test's own call) ever runs them.
 */
export const backfillFeatureJobs: JobDefinition[] = [
  defineJob({
    name: "backfill-hourly",
    description: "Backfill tests: logs the slot it runs",
    schedule: "0 * * * *",
    timeout: "30s",
    handler: (ctx) => {
      ctx.log(`backfilling ${ctx.scheduledFor?.toISOString() ?? "no slot"}`);
      return { slot: ctx.scheduledFor?.toISOString() ?? null, trigger: ctx.trigger };
    },
  }),
  defineJob({
    name: "backfill-slow",
    description: "Backfill tests: each slot takes 1.5 s, so a backfill can be cancelled mid-way",
    schedule: "30 * * * *",
    timeout: "30s",
    handler: async (ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return { slot: ctx.scheduledFor?.toISOString() ?? null };
    },
  }),
];
