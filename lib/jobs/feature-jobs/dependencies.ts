import { defineJob, type JobDefinition } from "../../cron/define-job";
import { checkDependencies } from "../../cron/registry";

/**
 * Jobs the dependencies tests run against a real server (loaded with CRONDECK_FEATURE_JOBS=1,
 * never in production): the ETL chain feature-extract -> feature-transform -> feature-load, and
 * feature-publish, which waits for two upstreams (feature-load and feature-extract, whose
 * latest slot at or before its own 03:30 is their 03:17). Daily at 03:17 UTC: the tests run the
 * tick at the instants they choose (its `now`), so these never fire in another test's tick.
 *
 * What feature-extract does is decided by its slot's day of the month, so a test picks the
 * behaviour by the day it ticks: the 13th fails (no retries; a replay of it succeeds), the 14th
 * runs for 8 s (the downstream waits), any other day completes at once.
 */
const SLOW_MS = 8_000;

const extract = defineJob({
  name: "feature-extract",
  schedule: "17 3 * * *",
  description: "Test job (dependencies): the ETL chain's first step",
  category: "feature-dependencies",
  retries: 0,
  timeout: "30s",
  alerts: { afterConsecutiveFailures: 99 },
  handler: async (ctx) => {
    const day = ctx.scheduledFor?.getUTCDate();
    if (day === 13 && ctx.trigger !== "replay") throw new Error("the source export is not there yet");
    if (day === 14) await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    return { rows: 3 };
  },
});

const transform = defineJob({
  name: "feature-transform",
  schedule: "17 3 * * *",
  description: "Test job (dependencies): transforms what feature-extract read",
  category: "feature-dependencies",
  dependsOn: ["feature-extract"],
  handler: async () => ({ transformed: 3 }),
});

const load = defineJob({
  name: "feature-load",
  schedule: "17 3 * * *",
  description: "Test job (dependencies): loads what feature-transform made",
  category: "feature-dependencies",
  dependsOn: ["feature-transform"],
  handler: async () => ({ loaded: 3 }),
});

const publish = defineJob({
  name: "feature-publish",
  schedule: "30 3 * * *",
  description: "Test job (dependencies): two upstreams on an earlier schedule",
  category: "feature-dependencies",
  dependsOn: ["feature-load", "feature-extract"],
  handler: async () => ({ published: true }),
});

// checkDependencies: a dependsOn naming a job not in this list fails to compile.
export const dependencyFeatureJobs: JobDefinition[] = [...checkDependencies([extract, transform, load, publish])];
