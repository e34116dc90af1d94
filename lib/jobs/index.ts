import type { JobDefinition } from "../cron/define-job";
import { JobRegistry } from "../cron/registry";
import { loadEnv, type Env } from "../env";
import cleanupOldLogs from "./cleanup-old-logs";
import deadLetterDigest from "./dead-letter-digest";
import demoFlaky from "./demo-flaky";
import demoPulse from "./demo-pulse";
import demoSlow from "./demo-slow";
import demoStubborn from "./demo-stubborn";
import { faultJobs } from "./fault-jobs";
import { consoleJobs } from "./console-jobs";
import { featureJobs } from "./feature-jobs";
import { leakJobs } from "./leak-jobs";
import { monitorJobs } from "./monitor-jobs";
import { rememberRegistry } from "./current-registry";
import healthCheck from "./health-check";
import { withPlanDispatch } from "../vercel/crons";

/**
 * Every job the app runs. Add a job: write lib/jobs/<name>.ts with defineJob, list it in
 * `jobs` here, then `npm run cron:sync` to update vercel.json.
 */
export const jobs: readonly JobDefinition[] = [healthCheck, cleanupOldLogs, deadLetterDigest];

/** Jobs that do real small work so a new install shows runs, failures and retries (CRON_DEMO=1). */
export const demoJobs: readonly JobDefinition[] = [demoPulse, demoFlaky, demoSlow, demoStubborn];

/** What the registry's jobs depend on in the environment. */
export type RegistryEnv = Pick<Env, "CRON_DEMO" | "CRONDECK_FAULT_JOBS" | "VERCEL_ENV" | "CRON_DISPATCH" | "CRON_PLAN"> & Partial<Pick<Env, "CRONDECK_FEATURE_JOBS" | "CRONDECK_CONSOLE_JOBS">>;

/**
 * CRON_DISPATCH applied to a list of jobs: `tick` hands every job to the tick (one scheduler
 * entry calling /api/cron/tick every minute runs them all, timezones included); `vercel` keeps
 * each job's own `dispatch`. Applied once, where the registry is built, so the tick, doctor and
 * every reader of the registry see the same dispatch.
 */
export function applyDispatch(list: readonly JobDefinition[], mode: Env["CRON_DISPATCH"]): JobDefinition[] {
  return mode === "tick" ? list.map((job) => (job.dispatch === "tick" ? job : { ...job, dispatch: "tick" })) : [...list];
}

/**
 * The jobs this environment runs: the jobs, plus the demo jobs when CRON_DEMO=1, plus the
 * fault-injection suite's jobs when CRONDECK_FAULT_JOBS=1 (lib/jobs/fault-jobs.ts, the
 * secret-leak test's lib/jobs/leak-jobs.ts and the monitoring tests' lib/jobs/monitor-jobs.ts), plus
 * the schedule features' test jobs when CRONDECK_FEATURE_JOBS=1 (lib/jobs/feature-jobs), plus the
 * console tests' jobs when CRONDECK_CONSOLE_JOBS=1 (lib/jobs/console-jobs.ts); none
 * set ever loads on a Vercel production deployment; each dispatched as CRON_DISPATCH says
 * ({@link applyDispatch}) and as the plan allows ({@link withPlanDispatch}). A new registry on every call.
 */
export function buildRegistry(env: RegistryEnv): JobRegistry {
  const production = env.VERCEL_ENV === "production";
  const listed = [
    ...jobs, ...(env.CRON_DEMO && !production ? demoJobs : []), ...(env.CRONDECK_FAULT_JOBS && !production ? [...faultJobs, ...leakJobs, ...monitorJobs] : []), ...(env.CRONDECK_FEATURE_JOBS && !production ? featureJobs : []),
    ...(env.CRONDECK_CONSOLE_JOBS && !production ? consoleJobs : []),
  ];
  // The plan routes through the tick what its Vercel Cron cannot run (more than daily on Hobby,
  // day of month and day of week both set): cron:sync leaves those out of vercel.json.
  return new JobRegistry(withPlanDispatch(applyDispatch(listed, env.CRON_DISPATCH), env.CRON_PLAN));
}

let cached: { key: string; registry: JobRegistry } | undefined;

/** The registry for this process (built once per combination of the variables it depends on). */
export function getRegistry(env: RegistryEnv = loadEnv()): JobRegistry {
  const key = `${env.CRON_DEMO}:${env.CRONDECK_FAULT_JOBS}:${env.CRONDECK_FEATURE_JOBS}:${env.CRONDECK_CONSOLE_JOBS}:${env.VERCEL_ENV === "production"}:${env.CRON_DISPATCH}:${env.CRON_PLAN}`;
  if (cached?.key !== key) cached = { key, registry: buildRegistry(env) };
  return rememberRegistry(cached.registry);
}
