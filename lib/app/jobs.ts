import type { JobDefinition } from "../cron/define-job";
import { formatDurationMs } from "../cron/duration";
import { nextRunAfter, type Schedule } from "../cron/schedule";
import { gridUnits, scheduleInWords, scheduleNotation } from "../dashboard/format";
import type { Db } from "../db/client";
import { categoriesOf, jobsOverviewAndEvery, summarize, type DashboardSummary, type JobOverview, type JobsOverviewOptions } from "../db/queries/jobs";
import { runningJobs, type RunningJob } from "../db/queries/runs";

/**
 * A schedule's fields in the API's answers: `schedule` and `timezone` as before for cron jobs
 * ("every 90m" / "once <instant>" and "UTC" otherwise, see scheduleNotation), with the kind, the
 * interval and its offset, the one-time slot, the bounds and the schedule in words.
 */
export function describeSchedule(schedule: Schedule) {
  const notation = scheduleNotation(schedule);
  return {
    schedule: notation,
    timezone: schedule.kind === "every" || schedule.kind === "once" ? "UTC" : schedule.timezone,
    scheduleKind: schedule.kind ?? "cron",
    scheduleInWords: scheduleInWords(notation),
    /** As a definition writes it ("90m", "7d"). */
    every: schedule.kind === "every" ? gridUnits(schedule.everyMs) : null,
    everyMs: schedule.kind === "every" ? schedule.everyMs : null,
    offsetMs: schedule.kind === "every" ? schedule.offsetMs : null,
    runAt: schedule.kind === "once" ? schedule.at.toISOString() : null,
    startAt: schedule.startAt?.toISOString() ?? null,
    endAt: schedule.endAt?.toISOString() ?? null,
  };
}

/** A job's definition as the API and the dashboard show it. `timeout` is in the definitions' own notation ("1m"). */
export function describeJob(job: JobDefinition, now = new Date()) {
  return {
    name: job.name,
    ...describeSchedule(job.schedule),
    jitterMs: job.jitterMs,
    enabled: job.enabled,
    timeout: formatDurationMs(job.timeoutMs),
    timeoutMs: job.timeoutMs,
    retries: job.retries,
    description: job.description,
    category: job.category,
    overlap: job.overlap,
    dispatch: job.dispatch,
    /** Null: no further runs (a one-time job after its slot, a bounded job past its last slot). */
    nextRunAt: nextRunAfter(job.schedule, now)?.toISOString() ?? null,
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
  const [{ jobs: overview, every, pendingDeadLetters }, running] = await Promise.all([jobsOverviewAndEvery(db, jobs, opts), runningJobs(db)]);
  const stale = running.filter((r) => r.stale).length;
  return {
    jobs: overview,
    summary: summarize(every, { running: running.length - stale, stale, pendingDeadLetters }),
    filtered,
    everyJobPaused: every.length > 0 && every.every((j) => j.paused),
    runningJobs: running,
    categories: categoriesOf(jobs),
  };
}
