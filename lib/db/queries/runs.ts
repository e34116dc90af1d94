import { sql, type SQL } from "drizzle-orm";
import { RUN_STATUSES, RUN_TRIGGERS, type RunStatus, type RunTrigger, type SkipReason } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, jsonValue, num, numOrNull, type DbNumber, type DbTime } from "../rows";
import { P95_CTE, P95_MS_SQL, toWindowStats, windowRows, windowStart, type WindowRow } from "./rollups";
import { filterValue, pick, type SortOrder } from "./params";

/**
 * A job's runs as the admin API and the dashboard read them: the history (through
 * idx_cron_logs_job_started), one run with every column, what is running now, a job's stats
 * and timeline over days (from the rollups). Times are ISO strings (UTC), durations milliseconds.
 */

export interface RunSummary {
  id: string;
  status: RunStatus;
  skipReason: SkipReason | null;
  trigger: RunTrigger;
  scheduledFor: string | null;
  startedAt: string;
  completedAt: string | null;
  durationMs: number | null;
  attempts: number | null;
  error: string | null;
}

/** The columns of cron_job_logs behind a RunSummary. */
export interface RunSummaryRow {
  id: string;
  status: RunStatus;
  skip_reason: SkipReason | null;
  trigger: RunTrigger;
  scheduled_for: DbTime | null;
  started_at: DbTime;
  completed_at: DbTime | null;
  duration_ms: DbNumber | null;
  attempts: DbNumber | null;
  error_message: string | null;
}

export function toRunSummary(r: RunSummaryRow): RunSummary {
  return {
    id: r.id,
    status: r.status,
    skipReason: r.skip_reason ?? null,
    trigger: r.trigger,
    scheduledFor: isoOrNull(r.scheduled_for),
    startedAt: iso(r.started_at),
    completedAt: isoOrNull(r.completed_at),
    durationMs: numOrNull(r.duration_ms),
    attempts: numOrNull(r.attempts),
    error: r.error_message ?? null,
  };
}

/** The columns of cron_job_logs a RunSummaryRow reads. */
const SUMMARY_COLUMNS = sql`id, status, skip_reason, trigger, scheduled_for, started_at, completed_at, duration_ms, attempts, error_message`;

/** A job's newest row of any status as one json value (a RunSummaryRow whose timestamps are text), through idx_cron_logs_job_started. */
export const latestRunJson = (jobName: string): SQL =>
  sql`(SELECT row_to_json(lr) FROM (
        SELECT ${SUMMARY_COLUMNS} FROM cron_job_logs l WHERE l.job_name = ${jobName} ORDER BY l.started_at DESC NULLS LAST LIMIT 1) lr)`;

export interface HistoryRun extends RunSummary {
  actor: string | null;
  replayOf: string | null;
  holder: string | null;
}

export interface HistoryRow extends RunSummaryRow {
  actor: string | null;
  replay_of: string | null;
  holder: string | null;
}

export const toHistoryRun = (r: HistoryRow): HistoryRun => ({ ...toRunSummary(r), actor: r.actor ?? null, replayOf: r.replay_of ?? null, holder: r.holder ?? null });

export interface JobStats {
  totalRuns: number;
  successfulRuns: number;
  failedRuns: number;
  timedOutRuns: number;
  abandonedRuns: number;
  /** Skip rows in the window (duplicates, overlaps, paused or disabled), counted from idx_cron_logs_job_skipped. */
  skippedRuns: number;
  missedRuns: number;
  successRate: number | null;
  avgDuration: number | null;
  /** Approximate (log-scale histogram, within about 9%). */
  p95Duration: number | null;
  lastRun: RunSummary | null;
}

export interface TimelineBucket {
  time_bucket: string;
  executions: number;
  successes: number;
  failures: number;
  avg_duration_ms: number | null;
}

export interface JobHistory {
  history: HistoryRun[];
  stats: JobStats;
  /** Hourly buckets for a window of up to 2 days, daily (UTC) beyond; oldest first, empty buckets included. */
  timeline: TimelineBucket[];
  granularity: "hour" | "day";
}

const dir = (o: SortOrder) => (o === "asc" ? sql.raw("ASC") : sql.raw("DESC"));
/**
 * ORDER BY clauses for a job's runs. Newest first must read `started_at DESC NULLS LAST`,
 * the exact order of idx_cron_logs_job_started: a plain `DESC` (NULLS FIRST) does not match
 * it, and Postgres then sorts every run of the job instead of reading 50 index entries.
 */
export const HISTORY_SORTS: ReadonlyMap<string, (order: SortOrder) => SQL> = new Map([
  ["startedAt", (o: SortOrder) => (o === "asc" ? sql`started_at ASC NULLS FIRST, id ASC` : sql`started_at DESC NULLS LAST, id DESC`)],
  ["duration", (o: SortOrder) => sql`duration_ms ${dir(o)} NULLS LAST, started_at DESC NULLS LAST, id DESC`],
  ["status", (o: SortOrder) => sql`status ${dir(o)}, started_at DESC NULLS LAST, id DESC`],
]);

export interface JobHistoryOptions {
  /** Runs to list, newest first. Default 50. */
  limit?: number;
  offset?: number;
  /** Window for stats, timeline and the list. Default 30. */
  days?: number;
  /** Only runs with this status (one of RUN_STATUSES). */
  status?: string | null;
  /** Only runs of this trigger (one of RUN_TRIGGERS). */
  trigger?: string | null;
  /** A key of HISTORY_SORTS; default startedAt (descending). */
  sort?: string;
  order?: SortOrder;
}

export async function jobHistory(db: Db, jobName: string, opts: JobHistoryOptions = {}): Promise<JobHistory> {
  const limit = opts.limit ?? 50;
  const days = opts.days ?? 30;
  const orderBy = pick(HISTORY_SORTS, opts.sort ?? "startedAt", "sort")(opts.order ?? "desc");
  const status = filterValue(RUN_STATUSES, opts.status, "status");
  const trigger = filterValue(RUN_TRIGGERS, opts.trigger, "trigger");
  const [history, stats, timeline] = await Promise.all([
    queryRows<HistoryRow>(
      db,
      sql`SELECT ${SUMMARY_COLUMNS}, actor, replay_of, holder
          FROM cron_job_logs
          WHERE job_name = ${jobName} AND started_at >= now() - make_interval(days => ${days}::int)
            AND (${status}::text IS NULL OR status = ${status})
            AND (${trigger}::text IS NULL OR trigger = ${trigger})
          ORDER BY ${orderBy}
          LIMIT ${limit} OFFSET ${opts.offset ?? 0}`,
    ),
    jobStats(db, jobName, days),
    jobTimeline(db, jobName, days),
  ]);
  return { history: history.map(toHistoryRun), stats, timeline: timeline.buckets, granularity: timeline.granularity };
}

interface JobStatsRow extends WindowRow {
  skipped: DbNumber;
  /** row_to_json of the latest run: its timestamps arrive as text. */
  last_run: RunSummaryRow | string | null;
}

/** A job's stats over `days` (whole UTC hours) from the rollup, plus its latest run. */
async function jobStats(db: Db, jobName: string, days = 30): Promise<JobStats> {
  const [r] = await queryRows<JobStatsRow>(
    db,
    sql`WITH win AS MATERIALIZED (${windowRows(days, sql`s.job_name = ${jobName}`)}), ${P95_CTE}
        SELECT coalesce(sum(w.successes), 0)::int AS successes, coalesce(sum(w.failures), 0)::int AS failures,
               coalesce(sum(w.timed_out), 0)::int AS timed_out, coalesce(sum(w.abandoned), 0)::int AS abandoned,
               coalesce(sum(w.missed), 0)::int AS missed,
               (SELECT count(*)::int FROM cron_job_logs k
                 WHERE k.job_name = ${jobName} AND k.status = 'skipped' AND k.started_at >= ${windowStart(days)}) AS skipped,
               round(sum(w.duration_sum_ms)::numeric / nullif(sum(w.duration_count), 0))::int AS avg_duration_ms,
               (SELECT ${P95_MS_SQL(sql`p.idx`)} FROM p95 p) AS p95_duration_ms,
               ${latestRunJson(jobName)} AS last_run
        FROM win w`,
  );
  const w = toWindowStats(r);
  const last = jsonValue<RunSummaryRow>(r.last_run);
  return {
    totalRuns: w.runs,
    successfulRuns: w.successes,
    failedRuns: w.failures,
    timedOutRuns: w.timedOut,
    abandonedRuns: w.abandoned,
    skippedRuns: num(r.skipped),
    missedRuns: w.missed,
    successRate: w.successRate,
    avgDuration: w.avgDurationMs,
    p95Duration: w.p95DurationMs,
    lastRun: last ? toRunSummary(last) : null,
  };
}

interface TimelineRow {
  bucket: DbTime;
  successes: DbNumber;
  failures: DbNumber;
  avg_duration_ms: DbNumber | null;
}

/** Runs per bucket from the rollups: hourly for up to 2 days, daily (UTC days) beyond. */
async function jobTimeline(db: Db, jobName: string, days = 30): Promise<{ granularity: "hour" | "day"; buckets: TimelineBucket[] }> {
  const hourly = days <= 2;
  const unit = hourly ? "hour" : "day";
  const count = hourly ? days * 24 : days;
  const step = hourly ? sql`interval '1 hour'` : sql`interval '24 hours'`;
  const rows = await queryRows<TimelineRow>(
    db,
    sql`WITH b AS (
          SELECT g AS bucket FROM generate_series(
            date_trunc(${unit}, now(), 'UTC') - (${count - 1}::int * ${step}),
            date_trunc(${unit}, now(), 'UTC'),
            ${step}) AS g
        ), s AS (
          SELECT date_trunc(${unit}, s.bucket, 'UTC') AS bucket, sum(s.successes)::int AS successes, sum(s.failures)::int AS failures,
                 round(sum(s.duration_sum_ms)::numeric / nullif(sum(s.duration_count), 0))::int AS avg_duration_ms
          FROM ${hourly ? sql`cron_job_stats_hourly` : sql`cron_job_stats_daily`} s
          WHERE s.job_name = ${jobName} AND s.bucket >= date_trunc(${unit}, now(), 'UTC') - (${count - 1}::int * ${step})
          GROUP BY 1
        )
        SELECT b.bucket, coalesce(s.successes, 0) AS successes, coalesce(s.failures, 0) AS failures, s.avg_duration_ms
        FROM b LEFT JOIN s ON s.bucket = b.bucket ORDER BY b.bucket`,
  );
  return {
    granularity: unit,
    buckets: rows.map((r) => ({
      time_bucket: iso(r.bucket),
      executions: num(r.successes) + num(r.failures),
      successes: num(r.successes),
      failures: num(r.failures),
      avg_duration_ms: numOrNull(r.avg_duration_ms),
    })),
  };
}

export interface RunningJob {
  runId: string;
  jobName: string;
  startedAt: string;
  runningSeconds: number;
  scheduledFor: string | null;
  trigger: RunTrigger;
  holder: string | null;
  /** The job's lease (or, for overlap "allow" jobs, the run's own). */
  leaseExpiresAt: string | null;
  /** The lease expired with no result recorded; the tick will mark the run abandoned. */
  stale: boolean;
  /** Attempts started so far (written with the heartbeats while it runs). */
  attempts: number;
  /** How many log lines its row shows so far. */
  logCount: number;
  /** The latest of them, if any. */
  lastLine: { at: string; message: string } | null;
  /** The latest finished attempt's error, if it failed (a retry is running or due). */
  lastAttemptError: string | null;
}

interface RunningRow {
  id: string;
  job_name: string;
  started_at: DbTime;
  running_duration_seconds: DbNumber;
  scheduled_for: DbTime | null;
  trigger: RunTrigger;
  holder: string | null;
  lease_expires_at: DbTime | null;
  stale: boolean;
  attempts: DbNumber | null;
  log_count: DbNumber | null;
  last_line: unknown;
  last_attempt_error: string | null;
}

/**
 * Runs holding status "started", longest-running first (the running_cron_jobs view plus the
 * lease), each with its progress so far: attempts, the latest log line (only that line leaves
 * the database, not the log), the last finished attempt's error.
 */
/**
 * When a started run's lease expires, and whether it has (a stale run: its holder stopped
 * without recording an end), over a run row `r` and its lease `k` (cron_job_leases, LEFT
 * JOINed on k.run_id = r.id; the run row's own expiry serves a Redis lease, which has no row).
 */
export const LEASE_EXPIRES_SQL = sql.raw("coalesce(k.expires_at, r.lease_expires_at)");
export const LEASE_STALE_SQL = sql.raw("coalesce(coalesce(k.expires_at, r.lease_expires_at) <= now(), false)");

export async function runningJobs(db: Db): Promise<RunningJob[]> {
  const rows = await queryRows<RunningRow>(
    db,
    sql`SELECT r.id, r.job_name, r.started_at, r.running_duration_seconds, r.scheduled_for, r.trigger, coalesce(k.holder, r.holder) AS holder,
               ${LEASE_EXPIRES_SQL} AS lease_expires_at, ${LEASE_STALE_SQL} AS stale,
               l.attempts, coalesce(jsonb_array_length(l.log_lines), 0) AS log_count,
               jsonb_build_object('at', l.log_lines -> -1 ->> 'at', 'message', l.log_lines -> -1 ->> 'message') AS last_line,
               l.attempt_details -> -1 ->> 'error' AS last_attempt_error
        FROM running_cron_jobs r JOIN cron_job_logs l ON l.id = r.id LEFT JOIN cron_job_leases k ON k.run_id = r.id
        ORDER BY r.started_at ASC, r.id ASC`,
  );
  return rows.map((r) => ({
    runId: r.id,
    jobName: r.job_name,
    startedAt: iso(r.started_at),
    runningSeconds: num(r.running_duration_seconds),
    scheduledFor: isoOrNull(r.scheduled_for),
    trigger: r.trigger,
    holder: r.holder ?? null,
    leaseExpiresAt: isoOrNull(r.lease_expires_at),
    stale: Boolean(r.stale),
    attempts: numOrNull(r.attempts) ?? 0,
    logCount: numOrNull(r.log_count) ?? 0,
    lastLine: lastLineOf(r.last_line),
    lastAttemptError: r.last_attempt_error ?? null,
  }));
}

function lastLineOf(value: unknown): RunningJob["lastLine"] {
  const line = jsonValue<{ at: string | null; message: string | null }>(value);
  return line?.message != null ? { at: line.at ?? "", message: line.message } : null;
}
