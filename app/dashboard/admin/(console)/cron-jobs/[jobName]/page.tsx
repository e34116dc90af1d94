import type { Metadata } from "next";
import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { ActionButton, RunNowButton } from "@/components/action-button";
import { AutoRefresh } from "@/components/auto-refresh";
import { CategoryBadge, JobStateBadge, RunStatusBadge, SuccessRate } from "@/components/badges";
import { EnableToggle } from "@/components/enable-toggle";
import { RunDetail } from "@/components/run-detail";
import { RunsTable } from "@/components/runs-table";
import { Schedule } from "@/components/schedule";
import { Time } from "@/components/time";
import { TimelineChart } from "@/components/timeline-chart";
import { BackfillPanel } from "@/components/job/backfill-panel";
import { DependenciesPanel } from "@/components/job/dependencies-panel";
import { RunInputPanel } from "@/components/job/input-panel";
import { OverridesPanel } from "@/components/job/overrides-panel";
import { SchedulePanel } from "@/components/job/schedule-panel";
import { SnoozePanel } from "@/components/job/snooze-panel";
import { Card, Code, Facts, focusRing, linkClass, mutedText, PageHeader, Stat } from "@/components/ui";
import { nextScheduledRun } from "@/lib/cron/next-run";
import { NOT_SCHEDULED_REASONS, RUN_STATUSES } from "@/lib/cron/vocabulary";
import { jobMonitoring, type JobMonitoring } from "@/lib/db/queries/job-detail";
import { jobState } from "@/lib/db/queries/jobs";
import { getRun } from "@/lib/db/queries/run-detail";
import { jobHistory } from "@/lib/db/queries/runs";
import { formatDuration } from "@/lib/format";
import { NO_RUN_QUERY, runQueryString } from "@/lib/app/run-query";
import { formatCount, LIVE_STATUSES, runStatusMeta, shortId } from "@/lib/dashboard/format";
import { isUuid, oneOf, param, queryString, type SearchParams } from "@/lib/dashboard/params";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { describeJob } from "@/lib/app/jobs";
import { getRuntime } from "@/lib/app/runtime";
import { monitorSettingsFromEnv, RATE_MONITORS, type Rate, type RateMonitorKind } from "@/lib/monitors/policy";
import { deliveryGraceMs } from "@/lib/vercel/crons";

type Params = Promise<{ jobName: string }>;

const WINDOWS = ["1", "2", "7", "30"] as const;
const DEFAULT_WINDOW = "7";

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  return { title: (await params).jobName };
}

/** One job: its state and controls, stats and timeline over a window, recent runs, and one run's detail (?run=<id>). */
export default async function JobPage({ params, searchParams }: { params: Params; searchParams: Promise<SearchParams> }) {
  const [{ jobName }, sp] = await Promise.all([params, searchParams]);
  const days = Number(oneOf(sp, "days", WINDOWS) ?? DEFAULT_WINDOW);
  const status = oneOf(sp, "status", RUN_STATUSES);
  const runParam = param(sp, "run", 64);
  const runId = isUuid(runParam) ? runParam.toLowerCase() : null;
  const base = `/dashboard/admin/cron-jobs/${encodeURIComponent(jobName)}`;
  const keep = { days: days === Number(DEFAULT_WINDOW) ? null : days, status };
  await requireDashboardSession(`${base}${queryString({ ...keep, run: runId })}`);

  const { database, registry, env } = await getRuntime();
  const job = registry.get(jobName);
  if (!job) notFound();
  const [state, history, run, monitoring] = await Promise.all([
    jobState(database.db, job.name, job.enabled),
    jobHistory(database.db, job.name, { limit: 50, days, status }),
    runId ? getRun(database.db, runId) : Promise.resolve(null),
    jobMonitoring(database.db, job, deliveryGraceMs(env.CRON_PLAN), monitorSettingsFromEnv(env)),
  ]);
  if (run && run.jobName !== job.name) redirect(`/dashboard/admin/cron-jobs/${encodeURIComponent(run.jobName)}?run=${run.id}`);

  const def = describeJob(job);
  // What the schedule will run next, as the engine will treat it (paused, snoozed, a skipped slot).
  const next = nextScheduledRun(job.schedule, state, new Date());
  const { stats } = history;
  const runHref = (id: string) => `${base}${queryString({ ...keep, run: id })}`;
  const closeHref = `${base}${queryString(keep)}`;
  // Keep the page fresh while something on it can still change (a run going, or a run asked for that has not started yet).
  const running = history.history.some((r) => LIVE_STATUSES.has(r.status)) || (run !== null && LIVE_STATUSES.has(run.status));
  const waitingForRun = runId !== null && run === null;
  const failedDetail = [stats.timedOutRuns ? `${stats.timedOutRuns} timed out` : null, stats.abandonedRuns ? `${stats.abandonedRuns} abandoned` : null].filter(Boolean).join(", ");

  return (
    <>
      {/* A run that has not started yet gets about 30 s to appear (a mistyped id should not poll for long). */}
      <AutoRefresh active={running || waitingForRun} maxTimes={running ? 150 : 15} />
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link href="/dashboard/admin/cron-jobs" className={linkClass}>
          Jobs
        </Link>
        <span className={mutedText}> / {job.name}</span>
      </nav>
      <PageHeader
        title={job.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <span>{job.description}</span>
            <CategoryBadge category={job.category} />
            <JobStateBadge state={state.state} />
          </span>
        }
        actions={
          <>
            <EnableToggle jobName={job.name} enabled={state.enabled} />
            <RunNowButton jobName={job.name} />
            {state.paused && !state.deadLettered ? (
              <ActionButton label="Resume" method="POST" path={`/api/admin/cron-jobs/${encodeURIComponent(job.name)}/resume`} quiet />
            ) : !state.paused ? (
              <ActionButton
                label="Pause"
                method="POST"
                path={`/api/admin/cron-jobs/${encodeURIComponent(job.name)}/pause`}
                confirm={`Pause ${job.name}? Its scheduled triggers will be recorded as skipped until you resume it.`}
                confirmLabel="Pause job"
                withNote
                quiet
              />
            ) : null}
            {state.deadLettered || state.consecutiveFailures > 0 ? (
              <ActionButton
                label="Recover"
                method="POST"
                path={`/api/admin/cron-jobs/${encodeURIComponent(job.name)}/recover`}
                confirm={`Put ${job.name} back on schedule and reset its failure counters?`}
                confirmLabel="Recover job"
                withNote
              />
            ) : null}
          </>
        }
      />

      <Card>
        <Facts
          items={[
            ["Schedule", <Schedule key="s" cron={def.schedule} timezone={def.timezone} />],
            ["Next run", next.at ? <Time key="n" iso={next.at.toISOString()} /> : NOT_SCHEDULED_REASONS[next.notScheduled]],
            ["Timeout", def.timeout],
            ["Retries", def.retries],
            ["Overlap", def.overlap],
            ["Triggered by", def.dispatch === "tick" ? "the tick (/api/cron/tick)" : "the platform scheduler (vercel.json)"],
            ["Consecutive failures", state.consecutiveFailures],
            ["Last changed", state.lastModifiedAt ? <span key="m"><Time iso={state.lastModifiedAt} />{state.lastModifiedBy ? ` by ${state.lastModifiedBy}` : ""}</span> : "never"],
            ...(state.pausedReason ? ([["Paused because", state.pausedReason]] as Array<[string, string]>) : []),
            ...(state.deadLetterReason ? ([["Dead-lettered because", state.deadLetterReason]] as Array<[string, string]>) : []),
            ...(state.notes ? ([["Notes", state.notes]] as Array<[string, string]>) : []),
          ]}
        />
      </Card>

      <Monitoring monitoring={monitoring} />

      <SchedulePanel job={job} />
      <DependenciesPanel job={job} />
      <SnoozePanel job={job} />
      <RunInputPanel job={job} />
      <BackfillPanel job={job} />
      <OverridesPanel job={job} />

      <section aria-labelledby="stats-heading" className="flex flex-col gap-3">
        <div className="flex flex-wrap items-center justify-between gap-3">
          <h2 id="stats-heading" className="text-lg font-semibold">
            Last {days === 1 ? "24 hours" : `${days} days`}
          </h2>
          <nav aria-label="Time window" className="flex gap-1">
            {WINDOWS.map((w) => (
              <Link
                key={w}
                href={`${base}${queryString({ days: w === DEFAULT_WINDOW ? null : w, status, run: runId })}`}
                scroll={false}
                aria-current={Number(w) === days ? "page" : undefined}
                className={`rounded-md px-2.5 py-1 text-sm font-medium ${focusRing} ${
                  Number(w) === days ? "bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900" : "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
                }`}
              >
                {w === "1" ? "24 h" : `${w} d`}
              </Link>
            ))}
          </nav>
        </div>
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-7">
          <Stat label="Runs" value={formatCount(stats.totalRuns)} hint="finished" />
          <Stat label="Succeeded" value={formatCount(stats.successfulRuns)} />
          <Stat label="Failed" value={formatCount(stats.failedRuns)} hint={failedDetail || undefined} />
          <Stat label="Skipped / missed" value={`${formatCount(stats.skippedRuns)} / ${formatCount(stats.missedRuns)}`} />
          <Stat label="Success rate" value={<SuccessRate rate={stats.successRate} />} />
          <Stat label="Duration" value={formatDuration(stats.avgDuration)} hint={`average; p95 ${formatDuration(stats.p95Duration)}`} />
          <Stat
            label="Last run"
            value={stats.lastRun ? <RunStatusBadge status={stats.lastRun.status} skipReason={stats.lastRun.skipReason} /> : "never"}
            hint={stats.lastRun ? <Time iso={stats.lastRun.startedAt} /> : undefined}
          />
        </dl>
      </section>

      <section aria-labelledby="timeline-heading" className="flex flex-col gap-3">
        <h2 id="timeline-heading" className="text-lg font-semibold">
          Runs per {history.granularity}
        </h2>
        <Card>
          <figure className="flex flex-col gap-2">
            <TimelineChart buckets={history.timeline} granularity={history.granularity} />
            <figcaption className={`text-xs ${mutedText}`}>
              Successes and failures per {history.granularity === "hour" ? "hour" : "UTC day"} (bars, left axis) and the average duration (line, right axis).
            </figcaption>
          </figure>
          <details className="mt-3 text-sm">
            <summary className={`cursor-pointer rounded-sm ${focusRing}`}>The same figures as a table</summary>
            <TimelineTable buckets={history.timeline.filter((b) => b.executions > 0)} granularity={history.granularity} />
          </details>
        </Card>
      </section>

      {runId ? (
        run ? (
          <RunDetail run={run} closeHref={closeHref} runHref={runHref} />
        ) : (
          <Card>
            <p role="status" className="text-sm">
              Run <Code>{shortId(runId)}</Code> is not recorded yet; this page checks again every few seconds. A run started with Run now appears as soon as it
              begins.{" "}
              <Link href={closeHref} className={linkClass}>
                Close
              </Link>
            </p>
          </Card>
        )
      ) : null}

      <section aria-labelledby="runs-heading" className="flex flex-col gap-3">
        <div className="flex flex-wrap items-end justify-between gap-3">
          <h2 id="runs-heading" className="text-lg font-semibold">
            Recent runs
          </h2>
          <form method="get" action={base} className="flex items-end gap-2">
            {keep.days ? <input type="hidden" name="days" value={keep.days} /> : null}
            <div>
              <label htmlFor="run-status" className="block text-xs font-medium text-zinc-700 dark:text-zinc-300">
                Status
              </label>
              <select id="run-status" name="status" defaultValue={status ?? ""} className={`rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900 ${focusRing}`}>
                <option value="">All</option>
                {RUN_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {runStatusMeta(s).label}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className={`rounded-md border border-zinc-300 px-2.5 py-1 text-sm font-medium hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800 ${focusRing}`}>
              Filter
            </button>
          </form>
        </div>
        <RunsTable
          runs={history.history}
          runHref={(r) => runHref(r.id)}
          selectedId={runId}
          empty={{ title: `No runs in the last ${days} days`, body: "Use Run now, or wait for the next scheduled slot." }}
        />
        <p className="text-sm">
          <Link href={`/dashboard/admin/runs${runQueryString({ ...NO_RUN_QUERY, filter: { ...NO_RUN_QUERY.filter, jobs: [job.name], statuses: status ? [status] : [] } })}`} className={linkClass}>
            Every run of {job.name}, with filters and export
          </Link>
        </p>
      </section>
    </>
  );
}

const RATE_LABELS: Record<RateMonitorKind, string> = { failure_rate: "Failure rate", timeout_rate: "Timeout rate", lock_contention: "Lock contention" };
const MONITOR_LABELS: Record<string, string> = { ...RATE_LABELS, late: "Late", stale_lease: "Stale lease" };

function describeRate(rate: Rate): string {
  return `above ${rate.abovePercent}% of at least ${rate.minRuns} runs in ${formatDuration(rate.windowMs)}`;
}

/** The open monitor's measure, in its unit. */
function monitorValue(kind: string, value: number | null): string {
  if (value === null) return "";
  if (kind in RATE_LABELS) return `${value}%`;
  if (kind === "late") return `${value} slot${value === 1 ? "" : "s"} late`;
  if (kind === "stale_lease") return `expired ${formatDuration(value * 1000)} ago`;
  return String(value);
}

/** What the tick watches for this job (effective values, where they come from) and what is open now. */
function Monitoring({ monitoring }: { monitoring: JobMonitoring }) {
  const { settings, open } = monitoring;
  const late = settings.lateAfterMs === null ? "off" : `${formatDuration(settings.lateAfterMs)} after the slot (${settings.lateAfterFrom === "plan" ? "the plan's delivery grace" : "alerts.lateAfter"})`;
  const long = settings.maxRuntimeMs === null ? "off" : `${formatDuration(settings.maxRuntimeMs)} (timeout ${formatDuration(settings.timeoutMs)})`;
  const rates = RATE_MONITORS.map((kind): [string, string] => {
    const t = settings.thresholds[kind];
    if (!t.effective) return [RATE_LABELS[kind], "off (alerts in code)"];
    const own = t.code && (t.code.abovePercent !== null || t.code.windowMs !== null || t.code.minRuns !== null);
    return [RATE_LABELS[kind], `${describeRate(t.effective)}${own ? ` (code; environment default ${describeRate(t.envDefault)})` : " (environment default)"}`];
  });
  return (
    <section aria-labelledby="monitoring-heading" className="flex flex-col gap-3">
      <h2 id="monitoring-heading" className="text-lg font-semibold">
        Monitoring
      </h2>
      <Card>
        <Facts items={[["Late alert", late], ["Long-run alert", long], ...rates, ["Re-alert after", formatDuration(settings.reAlertAfterMs)]]} />
        <div className="mt-3 text-sm">
          {open.length === 0 ? (
            <p className={mutedText}>No open monitors: nothing is over its threshold.</p>
          ) : (
            <ul aria-label="Open monitors" className="flex flex-col gap-1">
              {open.map((m) => (
                <li key={m.kind} className="text-red-700 dark:text-red-400">
                  <strong>{MONITOR_LABELS[m.kind] ?? m.kind}</strong> open since <Time iso={m.openedAt} />
                  {m.value !== null ? `: ${monitorValue(m.kind, m.value)}` : ""}
                  {m.alertedAt ? <span className={mutedText}> (last alert <Time iso={m.alertedAt} />)</span> : null}
                </li>
              ))}
            </ul>
          )}
        </div>
      </Card>
    </section>
  );
}

function TimelineTable({ buckets, granularity }: { buckets: Array<{ time_bucket: string; successes: number; failures: number; avg_duration_ms: number | null }>; granularity: "hour" | "day" }) {
  if (buckets.length === 0) return <p className={`mt-2 ${mutedText}`}>No finished runs in this window.</p>;
  return (
    <div role="region" aria-label="Runs per bucket (scrolls sideways)" tabIndex={0} className="mt-2 overflow-x-auto">
      <table className="w-full min-w-[28rem] text-sm">
        <thead>
          <tr className="text-left text-xs text-zinc-600 uppercase dark:text-zinc-400">
            <th scope="col" className="px-2 py-1">{granularity === "hour" ? "Hour" : "Day (UTC)"}</th>
            <th scope="col" className="px-2 py-1">Successes</th>
            <th scope="col" className="px-2 py-1">Failures</th>
            <th scope="col" className="px-2 py-1">Average duration</th>
          </tr>
        </thead>
        <tbody>
          {buckets.map((b) => (
            <tr key={b.time_bucket}>
              <td className="px-2 py-1">
                {granularity === "hour" ? <Time iso={b.time_bucket} /> : b.time_bucket.slice(0, 10)}
              </td>
              <td className="px-2 py-1 tabular-nums">{b.successes}</td>
              <td className="px-2 py-1 tabular-nums">{b.failures}</td>
              <td className="px-2 py-1 tabular-nums">{formatDuration(b.avg_duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
