import type { JobRegistry } from "../cron/registry";

/**
 * The registry this process built last (lib/jobs/index.ts getRegistry records it), for a job
 * whose work depends on the other jobs (cleanup-old-logs keeps the alert rows of the longest
 * re-alert window). A job cannot import lib/jobs/index.ts, which imports every job: the cycle
 * keeps the dev server from reloading the registry when a job is added.
 */
let current: JobRegistry | null = null;

export function rememberRegistry(registry: JobRegistry): JobRegistry {
  current = registry;
  return registry;
}

/** Null before any registry was built in this process. */
export function currentRegistry(): JobRegistry | null {
  return current;
}
