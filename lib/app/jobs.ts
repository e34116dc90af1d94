import type { JobDefinition } from "../cron/define-job";
import { formatDurationMs } from "../cron/duration";
import { nextRunAfter } from "../cron/schedule";
import type { Db } from "../db/client";
import { categoriesOf, jobsOverviewAndEvery, summarize, type DashboardSummary, type JobOverview, type JobsOverviewOptions } from "../db/queries/jobs";
import { runningJobs, type RunningJob } from "../db/queries/runs";

/** A job's definition as the API and the dashboard show it. `timeout` is in the definitions' own notation ("1m"). */
export function describeJob(job: JobDefinition, now = new Date()) {
  return {
    name: job.name,
    schedule: job.schedule.cron,
    timezone: job.schedule.timezone,
    enabled: job.enabled,
    timeout: formatDurationMs(job.timeoutMs),
    timeoutMs: job.timeoutMs,
    retries: job.retries,
    description: job.description,
    category: job.category,
    overlap: job.overlap,
    dispatch: job.dispatch,
    nextRunAt: nextRunAfter(job.schedule, now).toISOString(),
  };
}

export interface JobsDashboard {
  /** The jobs matching the filters, sorted. */
  jobs: JobOverview[];
  /** Over every job, whatever the filters. */
  summary: DashboardSummary;
  /** True when a filter left jobs out. */
  filtered: boolean;
  /** True when there are jobs and every one of them is paused. */
  everyJobPaused: boolean;
  runningJobs: RunningJob[];
  categories: Record<string, number>;
}

/**
 * The jobs overview as the dashboard and GET /api/admin/cron-jobs show it: the filtered,
 * sorted jobs, the summary over all of them (the same query returns both), and what is
 * running now.
 */
export async function jobsDashboard(db: Db, jobs: readonly JobDefinition[], opts: JobsOverviewOptions = {}): Promise<JobsDashboard> {
  const filtered = Boolean(opts.category || opts.search || opts.state);
  const [{ jobs: overview, every }, running] = await Promise.all([jobsOverviewAndEvery(db, jobs, opts), runningJobs(db)]);
  return {
    jobs: overview,
    summary: summarize(every, running.length),
    filtered,
    everyJobPaused: every.length > 0 && every.every((j) => j.paused),
    runningJobs: running,
    categories: categoriesOf(jobs),
  };
}
