import type { JobDefinition } from "../cron/define-job";

/** The Vercel plans whose cron and duration limits Crondeck knows. */
export const VERCEL_PLANS = ["hobby", "pro"] as const;
export type VercelPlan = (typeof VERCEL_PLANS)[number];

export interface VercelCron {
  path: string;
  schedule: string;
}

export const EXECUTE_PATH = "/api/cron/execute";
export const TICK_PATH = "/api/cron/tick";

/**
 * How late Vercel Cron may deliver a scheduled call: Hobby fires anywhere within the hour,
 * Pro within the minute. The tick's missed-slot grace and the Sentry monitors' margin both
 * follow it.
 */
export function deliveryGraceMs(plan: VercelPlan): number {
  return plan === "hobby" ? 3_600_000 : 60_000;
}

/**
 * The tick runs every minute on Pro. Hobby allows one run a day per cron entry, so there it
 * runs daily: abandoned runs, deferred retries and missed slots are then found once a day.
 */
export function tickScheduleFor(plan: VercelPlan): string {
  return plan === "hobby" ? "0 0 * * *" : "* * * * *";
}

/**
 * The `crons` of vercel.json for a registry: one entry per job that Vercel Cron fires
 * (UTC schedules; Vercel Cron knows no timezones), sorted by path so the file is stable,
 * then the tick, which dispatches the others and does the housekeeping.
 */
export function vercelCronsFor(jobs: readonly JobDefinition[], plan: VercelPlan = "pro"): VercelCron[] {
  const perJob = jobs
    .filter((job) => job.dispatch === "vercel")
    .map((job) => ({ path: `${EXECUTE_PATH}/${job.name}`, schedule: job.schedule.cron }))
    .sort((a, b) => a.path.localeCompare(b.path));
  return [...perJob, { path: TICK_PATH, schedule: tickScheduleFor(plan) }];
}

/** vercel.json with its crons replaced; every other setting is kept. */
export function withCrons(vercelJson: Record<string, unknown>, crons: VercelCron[]): Record<string, unknown> {
  return { ...vercelJson, crons };
}
