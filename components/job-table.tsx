import Link from "next/link";
import type { JobOverview } from "@/lib/db/queries/jobs";
import { NOT_SCHEDULED_REASONS } from "@/lib/cron/vocabulary";
import { runStatusMeta } from "@/lib/dashboard/format";
import { formatDuration } from "@/lib/format";
import { RunNowButton } from "./action-button";
import { CategoryBadge, JobStateBadge, RunStatusBadge, SnoozedBadge, SuccessRate } from "./badges";
import { EnableToggle } from "./enable-toggle";
import { Schedule } from "./schedule";
import { Time } from "./time";
import { Badge, Card, EmptyState, linkClass, mutedText } from "./ui";

const jobHref = (name: string) => `/dashboard/admin/cron-jobs/${encodeURIComponent(name)}`;

/** The latest run (skips left out: they are shown under it when newer), and the failed slot when the job is failing. */
function LastRun({ job }: { job: JobOverview }) {
  const run = job.lastRun;
  const outcome = job.failing ? job.lastOutcome : null;
  return (
    <span className="flex flex-col items-start gap-1">
      {run ? (
        <>
          <Link href={`${jobHref(job.name)}?run=${run.id}`} className={linkClass} aria-label={`Last run of ${job.name}`}>
            <Time iso={run.startedAt} />
          </Link>
          {job.lastRunStale ? (
            <Badge tone="red" title="Still recorded as started, but its lease expired: its holder stopped without recording an end">
              stale: lease expired
            </Badge>
          ) : (
            <RunStatusBadge status={run.status} skipReason={run.skipReason} />
          )}
        </>
      ) : (
        <span className={mutedText}>never</span>
      )}
      {outcome && outcome.runId !== run?.id ? (
        <Link href={`${jobHref(job.name)}?run=${outcome.runId}`} className={`${linkClass} text-xs`}>
          latest slot {runStatusMeta(outcome.status).label}
        </Link>
      ) : null}
      {job.lastSkip ? (
        <span className={`text-xs ${mutedText}`}>
          then {runStatusMeta("skipped", job.lastSkip.reason).label} <Time iso={job.lastSkip.at} format="time" />
        </span>
      ) : null}
    </span>
  );
}

/** The next run on schedule, or why there is none and what brings it back. */
function NextRun({ job }: { job: JobOverview }) {
  if (job.nextRunAt) return <Time iso={job.nextRunAt} />;
  return <span className={`text-xs ${mutedText}`}>{job.notScheduled ? NOT_SCHEDULED_REASONS[job.notScheduled] : NOT_SCHEDULED_REASONS.ended}</span>;
}

function Durations({ job }: { job: JobOverview }) {
  return (
    <span className="tabular-nums whitespace-nowrap">
      {formatDuration(job.stats.avgDurationMs)} <span className={mutedText}>avg</span>
      <br />
      {formatDuration(job.stats.p95DurationMs)} <span className={mutedText}>p95</span>
    </span>
  );
}

function JobName({ job }: { job: JobOverview }) {
  return (
    <span className="flex flex-col items-start gap-1">
      <Link href={jobHref(job.name)} className={`${linkClass} font-mono`}>
        {job.name}
      </Link>
      <span className={`text-xs ${mutedText}`}>{job.description}</span>
      {job.failing ? (
        <Badge tone="red" title="Its latest slot did not succeed; it stays failing until a later slot does">
          failing
        </Badge>
      ) : null}
      {job.state !== "enabled" ? <JobStateBadge state={job.state} /> : null}
      {job.snoozedUntil && Date.parse(job.snoozedUntil) > Date.now() ? <SnoozedBadge until={job.snoozedUntil} by={job.snoozedBy} reason={job.snoozeReason} /> : null}
      {job.running.count > 0 ? <span className="text-xs font-medium text-blue-800 dark:text-blue-300">running now</span> : null}
      {job.running.stale > 0 ? (
        <Badge tone="red" title={`The lease expired${job.running.staleHolder ? ` (held by ${job.running.staleHolder})` : ""}: its holder stopped without recording an end`}>
          stale run{job.running.stale === 1 ? "" : `s: ${job.running.stale}`}
        </Badge>
      ) : null}
      {job.pendingDeadLetters > 0 ? (
        <Link href={`/dashboard/admin/dead-letters?job=${encodeURIComponent(job.name)}`} className={`${linkClass} text-xs`}>
          {job.pendingDeadLetters} pending dead letter{job.pendingDeadLetters === 1 ? "" : "s"}
        </Link>
      ) : null}
    </span>
  );
}

const th = "px-3 py-2 text-left text-xs font-semibold tracking-wide uppercase text-zinc-600 dark:text-zinc-400";
const td = "px-3 py-3 align-top";

/**
 * The jobs: a table from md up, a list of cards on a phone. Each row's controls are real
 * buttons and links; the toggle and run-now call the admin API.
 */
export function JobTable({ jobs, days, filtered }: { jobs: JobOverview[]; days: number; filtered: boolean }) {
  if (jobs.length === 0) {
    return (
      <EmptyState title={filtered ? "No job matches these filters" : "No jobs are registered"}>
        {filtered ? (
          <Link href="/dashboard/admin/cron-jobs" className={linkClass}>
            Clear the filters
          </Link>
        ) : (
          <>Add a job in lib/jobs/ with defineJob and list it in lib/jobs/index.ts.</>
        )}
      </EmptyState>
    );
  }
  return (
    <>
      <div className="hidden overflow-hidden rounded-lg border border-zinc-200 md:block dark:border-zinc-800">
        <table className="w-full text-sm">
          <caption className="sr-only">Jobs, with stats over the last {days} days</caption>
          <thead className="bg-zinc-50 dark:bg-zinc-900">
            <tr>
              <th scope="col" className={th}>Job</th>
              <th scope="col" className={th}>Category</th>
              <th scope="col" className={th}>Schedule</th>
              <th scope="col" className={th}>Next run</th>
              <th scope="col" className={th}>Last run</th>
              <th scope="col" className={th}>Success ({days} d)</th>
              <th scope="col" className={th}>Duration</th>
              <th scope="col" className={th}>Enabled</th>
              <th scope="col" className={th}>Actions</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
            {jobs.map((job) => (
              <tr key={job.name} data-job={job.name}>
                <td className={`${td} max-w-56`}>
                  <JobName job={job} />
                </td>
                <td className={td}>
                  <CategoryBadge category={job.category} />
                </td>
                <td className={td}>
                  <Schedule cron={job.schedule} timezone={job.timezone} />
                </td>
                <td className={td}>
                  <NextRun job={job} />
                </td>
                <td className={td}>
                  <LastRun job={job} />
                </td>
                <td className={td}>
                  <SuccessRate rate={job.stats.successRate} runs={job.stats.runs} failing={job.failing} />
                </td>
                <td className={td}>
                  <Durations job={job} />
                </td>
                <td className={td}>
                  <EnableToggle jobName={job.name} enabled={job.enabled} />
                </td>
                <td className={td}>
                  <div className="flex flex-col items-start gap-2">
                    <RunNowButton jobName={job.name} variant="secondary" />
                    <Link href={jobHref(job.name)} className={`${linkClass} text-sm`} aria-label={`History of ${job.name}`}>
                      History
                    </Link>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <ul className="flex flex-col gap-3 md:hidden" aria-label="Jobs">
        {jobs.map((job) => (
          <li key={job.name} data-job={job.name}>
            <Card>
              <div className="flex items-start justify-between gap-3">
                <JobName job={job} />
                <CategoryBadge category={job.category} />
              </div>
              <dl className="mt-3 grid grid-cols-2 gap-x-4 gap-y-3 text-sm">
                <div className="col-span-2">
                  <dt className={`text-xs ${mutedText}`}>Schedule</dt>
                  <dd>
                    <Schedule cron={job.schedule} timezone={job.timezone} />
                  </dd>
                </div>
                <div>
                  <dt className={`text-xs ${mutedText}`}>Next run</dt>
                  <dd>
                    <NextRun job={job} />
                  </dd>
                </div>
                <div>
                  <dt className={`text-xs ${mutedText}`}>Last run</dt>
                  <dd>
                    <LastRun job={job} />
                  </dd>
                </div>
                <div>
                  <dt className={`text-xs ${mutedText}`}>Success ({days} d)</dt>
                  <dd>
                    <SuccessRate rate={job.stats.successRate} runs={job.stats.runs} failing={job.failing} />
                  </dd>
                </div>
                <div>
                  <dt className={`text-xs ${mutedText}`}>Duration</dt>
                  <dd>
                    <Durations job={job} />
                  </dd>
                </div>
              </dl>
              <div className="mt-3 flex flex-wrap items-center gap-3 border-t border-zinc-200 pt-3 dark:border-zinc-800">
                <EnableToggle jobName={job.name} enabled={job.enabled} />
                <RunNowButton jobName={job.name} variant="secondary" />
                <Link href={jobHref(job.name)} className={`${linkClass} text-sm`} aria-label={`History of ${job.name}`}>
                  History
                </Link>
              </div>
            </Card>
          </li>
        ))}
      </ul>
    </>
  );
}
