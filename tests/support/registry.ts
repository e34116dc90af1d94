import { parseEnv } from "@/lib/env";
import { buildRegistry } from "@/lib/jobs";

/**
 * The jobs a test's `next start` (or CLI) runs, read from lib/jobs as the server reads it: the
 * built-in jobs, any the user added, and the demo jobs with CRON_DEMO=1. A test compares what
 * the server lists with this instead of a number, so adding a job the README's way breaks none.
 */
export function serverJobs(opts: { demo?: boolean; faults?: boolean; features?: boolean } = {}) {
  // The environment the test gives its server, parsed as the server parses it (never this process's).
  const env = parseEnv({ CRON_DEMO: opts.demo ? "1" : undefined, CRONDECK_FAULT_JOBS: opts.faults ? "1" : undefined, CRONDECK_FEATURE_JOBS: opts.features ? "1" : undefined });
  const jobs = buildRegistry(env).list();
  const categories: Record<string, number> = {};
  for (const job of jobs) categories[job.category] = (categories[job.category] ?? 0) + 1;
  return { names: jobs.map((j) => j.name).sort(), count: jobs.length, categories };
}
