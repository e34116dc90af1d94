import { z } from "zod";
import { defineJob, type JobDefinition } from "../../cron/define-job";
import { NonRetriableError } from "../../cron/errors";

/**
 * Jobs the run-input tests run against a real server (loaded with CRONDECK_FEATURE_JOBS=1, never
 * in production). Yearly UTC cron (1 January, 04:13): Vercel Cron would dispatch them, and no
 * scheduler calls them while a test runs; the tests run them by hand with an input.
 */

const reportInput = z.object({
  days: z.number().int().min(1).max(90).describe("how many days back the report covers"),
  dryRun: z.boolean().default(false).describe("compute without sending"),
});

/** A report over the last `days` days (seed 002's job_data): what it was given, and the slots around it. */
const featureReport = defineJob({
  name: "feature-report",
  description: "Input tests: a report over the last `days` days (run it with an input)",
  category: "feature-input",
  schedule: "13 4 1 1 *",
  input: reportInput,
  defaultInput: { days: 7 },
  timeout: "10s",
  handler: (ctx) => {
    ctx.log(`report over ${ctx.input.days} day(s)${ctx.input.dryRun ? " (dry run)" : ""}`);
    return { days: ctx.input.days, dryRun: ctx.input.dryRun, lastSlot: ctx.lastSlot?.toISOString() ?? null, upcoming: ctx.upcoming.map((d) => d.toISOString()) };
  },
});

/**
 * Fails for good when its input says `fail: true` (no retries), so the run dead-letters with its
 * input and can be replayed with an edited one.
 */
const featureImport = defineJob({
  name: "feature-import",
  description: "Input tests: an import that fails on { fail: true } and dead-letters with its input",
  category: "feature-input",
  schedule: "13 4 1 1 *",
  input: z.object({ batch: z.string().min(1).max(40), fail: z.boolean().default(false) }),
  defaultInput: { batch: "nightly" },
  timeout: "10s",
  retries: 0,
  // Never paused by its dead letters: the tests replay the same job many times.
  deadLetter: { pauseAfter: 1000, replayLimit: 100 },
  alerts: { afterConsecutiveFailures: 1000 },
  handler: (ctx) => {
    if (ctx.input.fail) throw new NonRetriableError(`batch ${ctx.input.batch} refused: fail was set`);
    return { imported: ctx.input.batch };
  },
});

export const inputFeatureJobs: JobDefinition[] = [featureReport, featureImport];
