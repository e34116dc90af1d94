import type { JobDefinition } from "../cron/define-job";
import { formatDurationMs } from "../cron/duration";
import { nextRunAfter } from "../cron/schedule";

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

export type JobDescription = ReturnType<typeof describeJob>;
