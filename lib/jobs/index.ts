import type { JobDefinition } from "../cron/define-job";
import { JobRegistry } from "../cron/registry";
import { loadEnv, type Env } from "../env";
import cleanupOldLogs from "./cleanup-old-logs";
import demoFlaky from "./demo-flaky";
import demoPulse from "./demo-pulse";
import demoSlow from "./demo-slow";
import demoStubborn from "./demo-stubborn";
import { faultJobs } from "./fault-jobs";
import healthCheck from "./health-check";

/**
 * Every job the app runs. Add a job: write lib/jobs/<name>.ts with defineJob, list it in
 * `jobs` here, then `npm run cron:sync` to update vercel.json.
 */
export const jobs: readonly JobDefinition[] = [healthCheck, cleanupOldLogs];

/** Jobs that do real small work so a new install shows runs, failures and retries (CRON_DEMO=1). */
export const demoJobs: readonly JobDefinition[] = [demoPulse, demoFlaky, demoSlow, demoStubborn];

let cached: { key: string; registry: JobRegistry } | undefined;

/**
 * The registry for this process: the jobs, plus the demo jobs when CRON_DEMO=1, plus the
 * fault-injection suite's jobs when CRONDECK_FAULT_JOBS=1 (lib/jobs/fault-jobs.ts); neither
 * set ever loads on a Vercel production deployment.
 */
export function getRegistry(
  env: Pick<Env, "CRON_DEMO" | "VERCEL_ENV"> = loadEnv(),
  faults: boolean = process.env.CRONDECK_FAULT_JOBS === "1",
): JobRegistry {
  const demo = env.CRON_DEMO && env.VERCEL_ENV !== "production";
  const withFaults = faults && env.VERCEL_ENV !== "production";
  const key = `${demo}:${withFaults}`;
  if (cached?.key !== key) cached = { key, registry: new JobRegistry([...jobs, ...(demo ? demoJobs : []), ...(withFaults ? faultJobs : [])]) };
  return cached.registry;
}
