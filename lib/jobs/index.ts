import type { JobDefinition } from "../cron/define-job";
import { JobRegistry } from "../cron/registry";
import { loadEnv, type Env } from "../env";
import cleanupOldLogs from "./cleanup-old-logs";
import demoFlaky from "./demo-flaky";
import demoPulse from "./demo-pulse";
import demoSlow from "./demo-slow";
import demoStubborn from "./demo-stubborn";
import healthCheck from "./health-check";

/**
 * Every job the app runs. Add a job: write lib/jobs/<name>.ts with defineJob, list it in
 * `jobs` here, then `npm run cron:sync` to update vercel.json.
 */
export const jobs: readonly JobDefinition[] = [healthCheck, cleanupOldLogs];

/** Jobs that do real small work so a new install shows runs, failures and retries (CRON_DEMO=1). */
export const demoJobs: readonly JobDefinition[] = [demoPulse, demoFlaky, demoSlow, demoStubborn];

let cached: { demo: boolean; registry: JobRegistry } | undefined;

/** The registry for this process: the jobs, plus the demo jobs when CRON_DEMO=1 (never on Vercel production). */
export function getRegistry(env: Pick<Env, "CRON_DEMO" | "VERCEL_ENV"> = loadEnv()): JobRegistry {
  const demo = env.CRON_DEMO && env.VERCEL_ENV !== "production";
  if (cached?.demo !== demo) cached = { demo, registry: new JobRegistry(demo ? [...jobs, ...demoJobs] : jobs) };
  return cached.registry;
}
