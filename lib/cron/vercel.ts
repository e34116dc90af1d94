import type { JobDefinition } from "./define-job";

export interface VercelCron {
  path: string;
  schedule: string;
}

export const EXECUTE_PATH = "/api/cron/execute";

/**
 * The `crons` of vercel.json for a registry: one entry per job that Vercel Cron fires
 * (UTC schedules; Vercel Cron knows no timezones), sorted by path so the file is stable.
 */
export function vercelCronsFor(jobs: readonly JobDefinition[]): VercelCron[] {
  return jobs
    .filter((job) => job.dispatch === "vercel")
    .map((job) => ({ path: `${EXECUTE_PATH}/${job.name}`, schedule: job.schedule.cron }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** vercel.json with its crons replaced; every other setting is kept. */
export function withCrons(vercelJson: Record<string, unknown>, crons: VercelCron[]): Record<string, unknown> {
  return { ...vercelJson, crons };
}
