import { sql, type SQL } from "drizzle-orm";
import type { JobDefinition } from "../cron/define-job";
import { nextRunAfter } from "../cron/schedule";
import { queryRows, type Db } from "./client";
import { deadLetterSummary } from "./dead-letters";

/**
 * Everything the admin API and the dashboard pages read (and the few writes they make),
 * as typed functions over a `db`: no cookies, no env, no request. Dashboard figures over
 * days come from the hourly and daily rollups (drizzle/0004_dashboard_rollups.sql), never from a scan
 * of the runs; only "the latest run" and lists of runs touch cron_job_logs, through its
 * (job_name, started_at DESC) index.
 *
 * Conventions: times are ISO strings (UTC); durations are milliseconds (`...Ms`); rates are
 * percentages 0-100 with two decimals, null when there is nothing to divide by.
 */

/** A sort key or filter value outside its allow-list. `field` names the parameter. */
export class AdminQueryError extends Error {
  constructor(
    readonly code: "invalid_sort" | "invalid_filter",
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type JobState = "enabled" | "disabled" | "paused" | "dead_lettered";
export type SortOrder = "asc" | "desc";

import { RUN_STATUSES, type RunStatus as RunStatusName } from "../cron/run-store";
export { RUN_STATUSES, type RunStatusName };

/** Histogram resolution of the rollup: 4 buckets per doubling, so a p95 is within 2^(1/8) ≈ 9% of the exact value. */
export const DURATION_BUCKETS_PER_DOUBLING = 4;
/** The value reported for histogram bucket `index` (0: 0 ms; i: the geometric middle of [2^((i-1)/4), 2^(i/4)) ms). */
export function durationBucketMiddleMs(index: number): number {
  return index <= 0 ? 0 : Math.round(2 ** ((index - 0.5) / DURATION_BUCKETS_PER_DOUBLING));
}
/** The histogram index of a duration, the same as SQL's crondeck_duration_bucket. */
export function durationBucketIndex(ms: number): number {
  return ms < 1 ? 0 : 1 + Math.floor((DURATION_BUCKETS_PER_DOUBLING * Math.log(ms)) / Math.LN2);
}
const P95_MS_SQL = (idx: SQL) => sql`CASE WHEN ${idx} = 0 THEN 0 WHEN ${idx} IS NOT NULL THEN round(power(2::float8, (${idx} - 0.5) / ${sql.raw(String(DURATION_BUCKETS_PER_DOUBLING))}.0))::int END`;

const iso = (v: unknown): string | null => (v == null ? null : new Date(v as string).toISOString());
const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));
const rate = (part: number, whole: number): number | null => (whole > 0 ? Math.round((10_000 * part) / whole) / 100 : null);

function pick<T>(map: ReadonlyMap<string, T>, key: string, field: string): T {
  const value = map.get(key);
  if (value === undefined) throw new AdminQueryError("invalid_sort", field, `${field} must be one of ${[...map.keys()].join(", ")}; got "${key.slice(0, 40)}"`);
  return value;
}
const direction = (order: SortOrder | undefined, fallback: SortOrder): SQL => ((order ?? fallback) === "asc" ? sql.raw("ASC") : sql.raw("DESC"));

/**
 * The rollup rows covering the last `days` (in whole UTC hours, by the database clock):
 * whole UTC days from cron_job_stats_daily, and the ragged first day's hours from
 * cron_job_stats_hourly. At most days + 23 rows per job.
 */
const windowStart = (days: number) => sql`date_trunc('hour', now() - make_interval(days => ${days}::int), 'UTC')`;

function windowRows(days: number, jobFilter: SQL): SQL {
  const cols = sql`s.job_name, s.successes, s.failures, s.timed_out, s.abandoned, s.missed, s.duration_sum_ms, s.duration_count, s.duration_hist`;
  // Inline expressions, not a CTE: the planner folds now() to estimate them and reads ~23
  // hourly rows per job from the primary key instead of scanning the table.
  const start = windowStart(days);
  const cut = sql`(date_trunc('day', ${start} - interval '1 microsecond', 'UTC') + interval '24 hours')`;
  return sql`SELECT ${cols} FROM cron_job_stats_daily s WHERE ${jobFilter} AND s.bucket >= ${cut}
    UNION ALL
    SELECT ${cols} FROM cron_job_stats_hourly s WHERE ${jobFilter} AND s.bucket >= ${start} AND s.bucket < ${cut}`;
}

/**
 * The p95 bucket per job over the rollup rows of CTE `win`: unnests each sparse histogram
 * (its lower bound is its first index), sums per index, and takes the first index whose
 * running total reaches 95% (nearest rank).
 */
const P95_CTE = sql`p95 AS (
  SELECT DISTINCT ON (c.job_name) c.job_name, c.idx
  FROM (
    SELECT h.job_name, h.idx, sum(h.n) OVER (PARTITION BY h.job_name ORDER BY h.idx) AS cum, sum(h.n) OVER (PARTITION BY h.job_name) AS total
    FROM (
      SELECT w.job_name, array_lower(w.duration_hist, 1) + u.ord::int - 1 AS idx, sum(u.n) AS n
      FROM win w CROSS JOIN LATERAL unnest(w.duration_hist) WITH ORDINALITY AS u(n, ord)
      WHERE u.n IS NOT NULL AND u.n <> 0
      GROUP BY 1, 2
    ) h
  ) c
  WHERE c.cum >= 0.95 * c.total
  ORDER BY c.job_name, c.idx
)`;

// ---------------------------------------------------------------------------------------
// Jobs overview

export interface RunSummary {
  id: string;
  status: RunStatusName;
  skipReason: string | null;
  trigger: string;
  scheduledFor: string | null;
  startedAt: string;
  completedAt: string | null;
  durationMs: number | null;
  attempts: number | null;
  error: string | null;
}

export interface WindowStats {
  /** Finished runs: successes + failures. */
  runs: number;
  successes: number;
  /** failed + timed out + abandoned. */
  failures: number;
  timedOut: number;
  abandoned: number;
  /** Slots nobody triggered. (Skips are not rolled up: see statistics() for a day's.) */
  missed: number;
  successRate: number | null;
  avgDurationMs: number | null;
  /** From the log-scale histogram: within about 9% of the exact nearest-rank p95. */
  p95DurationMs: number | null;
}

export interface JobOverview {
  name: string;
  description: string;
  category: string;
  schedule: string;
  timezone: string;
  nextRunAt: string;
  /** What the code says; `enabled` is what applies now (the database may override it). */
  enabledByDefault: boolean;
  enabled: boolean;
  paused: boolean;
  pausedReason: string | null;
  pausedAt: string | null;
  deadLettered: boolean;
  deadLetterReason: string | null;
  deadLetteredSince: string | null;
  /** dead_lettered > paused > disabled > enabled. */
  state: JobState;
  consecutiveFailures: number;
  lastModifiedAt: string | null;
  lastModifiedBy: string | null;
  /** The newest row of any status: a skip or a missed slot says why nothing ran. */
  lastRun: RunSummary | null;
  /** Runs holding status "started" now. */
  running: { count: number; since: string | null };
  /** Over the last 30 days (whole UTC hours). */
  stats: WindowStats;
}

export const JOB_SORTS: ReadonlyMap<string, SQL> = new Map([
  ["name", sql`name`],
  ["category", sql`category`],
  ["state", sql`state`],
  ["nextRun", sql`next_run_at`],
  ["lastRun", sql`last_started_at`],
  ["runs", sql`runs`],
  ["failures", sql`failures`],
  ["successRate", sql`success_rate`],
  ["avgDuration", sql`avg_duration_ms`],
  ["p95Duration", sql`p95_duration_ms`],
  ["consecutiveFailures", sql`consecutive_failures`],
]);
export const JOB_STATE_FILTERS: ReadonlyMap<string, SQL> = new Map([
  ["enabled", sql`state = 'enabled'`],
  ["disabled", sql`state = 'disabled'`],
  ["paused", sql`state = 'paused'`],
  ["dead_lettered", sql`state = 'dead_lettered'`],
  ["running", sql`running_count > 0`],
  ["failing", sql`consecutive_failures > 0`],
]);

export interface JobsOverviewOptions {
  /** A key of JOB_SORTS; default "name". */
  sort?: string;
  order?: SortOrder;
  category?: string | null;
  /** Case-insensitive substring of the name or description. */
  search?: string | null;
  /** A key of JOB_STATE_FILTERS. */
  state?: string | null;
  /** Default 30. */
  days?: number;
  now?: Date;
}

/** A text[] literal, passed as one parameter (an index condition, unlike a join with a subquery). */
const pgTextArray = (values: readonly string[]) => `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(",")}}`;
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * One row per job of `jobs` (the registry), with its runtime state, its latest run, what
 * is running, and its stats over `days` from the rollups (see windowRows). Sorted and filtered in SQL
 * from allow-lists only.
 */
export async function jobsOverview(db: Db, jobs: readonly JobDefinition[], opts: JobsOverviewOptions = {}): Promise<JobOverview[]> {
  if (jobs.length === 0) return [];
  const now = opts.now ?? new Date();
  const sortSql = pick(JOB_SORTS, opts.sort ?? "name", "sort");
  const stateSql = opts.state ? pick(JOB_STATE_FILTERS, opts.state, "state") : sql`true`;
  const defs = jobs.map((job, ord) => ({
    name: job.name,
    category: job.category,
    description: job.description,
    schedule: job.schedule.cron,
    timezone: job.schedule.timezone,
    enabled_default: job.enabled,
    next_run_at: nextRunAfter(job.schedule, now).toISOString(),
    ord,
  }));
  const search = opts.search ? `%${escapeLike(opts.search)}%` : null;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`WITH defs AS (
          SELECT d.* FROM jsonb_to_recordset(${JSON.stringify(defs)}::jsonb)
            AS d(name text, category text, description text, schedule text, timezone text, enabled_default boolean, next_run_at timestamptz, ord int)
        ), win AS MATERIALIZED (${windowRows(opts.days ?? 30, sql`s.job_name = ANY(${pgTextArray(jobs.map((j) => j.name))}::text[])`)}), agg AS (
          SELECT w.job_name, sum(w.successes)::int AS successes, sum(w.failures)::int AS failures, sum(w.timed_out)::int AS timed_out,
                 sum(w.abandoned)::int AS abandoned, sum(w.missed)::int AS missed,
                 round(sum(w.duration_sum_ms)::numeric / nullif(sum(w.duration_count), 0))::int AS avg_duration_ms
          FROM win w GROUP BY w.job_name
        ), ${P95_CTE}, overview AS (
          SELECT d.name, d.category, d.description, d.schedule, d.timezone, d.enabled_default, d.next_run_at, d.ord,
                 coalesce(c.enabled, d.enabled_default) AS enabled, coalesce(c.paused, false) AS paused, c.paused_reason, c.paused_at,
                 coalesce(c.dead_lettered, false) AS dead_lettered, c.dead_letter_reason, c.dead_lettered_since,
                 coalesce(c.consecutive_failures, 0) AS consecutive_failures, c.last_modified_at, c.last_modified_by,
                 CASE WHEN c.dead_lettered THEN 'dead_lettered' WHEN c.paused THEN 'paused'
                      WHEN NOT coalesce(c.enabled, d.enabled_default) THEN 'disabled' ELSE 'enabled' END AS state,
                 coalesce(a.successes, 0) AS successes, coalesce(a.failures, 0) AS failures, coalesce(a.timed_out, 0) AS timed_out,
                 coalesce(a.abandoned, 0) AS abandoned, coalesce(a.missed, 0) AS missed,
                 coalesce(a.successes, 0) + coalesce(a.failures, 0) AS runs,
                 round(100.0 * a.successes / nullif(a.successes + a.failures, 0), 2)::float8 AS success_rate,
                 a.avg_duration_ms, ${P95_MS_SQL(sql`p.idx`)} AS p95_duration_ms,
                 lr.id AS last_id, lr.status AS last_status, lr.skip_reason AS last_skip_reason, lr.trigger AS last_trigger,
                 lr.scheduled_for AS last_scheduled_for, lr.started_at AS last_started_at, lr.completed_at AS last_completed_at,
                 lr.duration_ms AS last_duration_ms, lr.attempts AS last_attempts, lr.error_message AS last_error,
                 rn.running_count, rn.running_since
          FROM defs d
          LEFT JOIN cron_job_config c ON c.job_name = d.name
          LEFT JOIN agg a ON a.job_name = d.name
          LEFT JOIN p95 p ON p.job_name = d.name
          LEFT JOIN LATERAL (
            SELECT l.id, l.status, l.skip_reason, l.trigger, l.scheduled_for, l.started_at, l.completed_at, l.duration_ms, l.attempts, l.error_message
            FROM cron_job_logs l WHERE l.job_name = d.name ORDER BY l.started_at DESC NULLS LAST LIMIT 1
          ) lr ON true
          LEFT JOIN LATERAL (
            SELECT count(*)::int AS running_count, min(r.started_at) AS running_since
            FROM cron_job_logs r WHERE r.job_name = d.name AND r.status = 'started'
          ) rn ON true
        )
        SELECT * FROM overview
        WHERE (${opts.category ?? null}::text IS NULL OR category = ${opts.category ?? null})
          AND (${search}::text IS NULL OR name ILIKE ${search} OR description ILIKE ${search})
          AND ${stateSql}
        ORDER BY ${sortSql} ${direction(opts.order, "asc")} NULLS LAST, name ASC`,
  );
  return rows.map(toOverview);
}

function toRunSummary(r: Record<string, unknown>, prefix: string): RunSummary | null {
  if (r[`${prefix}id`] == null) return null;
  return {
    id: r[`${prefix}id`] as string,
    status: r[`${prefix}status`] as RunStatusName,
    skipReason: (r[`${prefix}skip_reason`] as string | null) ?? null,
    trigger: r[`${prefix}trigger`] as string,
    scheduledFor: iso(r[`${prefix}scheduled_for`]),
    startedAt: iso(r[`${prefix}started_at`])!,
    completedAt: iso(r[`${prefix}completed_at`]),
    durationMs: numOrNull(r[`${prefix}duration_ms`]),
    attempts: numOrNull(r[`${prefix}attempts`]),
    error: ((r[`${prefix}error`] ?? r[`${prefix}error_message`]) as string | null) ?? null,
  };
}

function toWindowStats(r: Record<string, unknown>): WindowStats {
  const successes = num(r.successes);
  const failures = num(r.failures);
  return {
    runs: successes + failures,
    successes,
    failures,
    timedOut: num(r.timed_out),
    abandoned: num(r.abandoned),
    missed: num(r.missed),
    successRate: rate(successes, successes + failures),
    avgDurationMs: numOrNull(r.avg_duration_ms),
    p95DurationMs: numOrNull(r.p95_duration_ms),
  };
}

function toOverview(r: Record<string, unknown>): JobOverview {
  return {
    name: r.name as string,
    description: r.description as string,
    category: r.category as string,
    schedule: r.schedule as string,
    timezone: r.timezone as string,
    nextRunAt: iso(r.next_run_at)!,
    enabledByDefault: Boolean(r.enabled_default),
    enabled: Boolean(r.enabled),
    paused: Boolean(r.paused),
    pausedReason: (r.paused_reason as string | null) ?? null,
    pausedAt: iso(r.paused_at),
    deadLettered: Boolean(r.dead_lettered),
    deadLetterReason: (r.dead_letter_reason as string | null) ?? null,
    deadLetteredSince: iso(r.dead_lettered_since),
    state: r.state as JobState,
    consecutiveFailures: num(r.consecutive_failures),
    lastModifiedAt: iso(r.last_modified_at),
    lastModifiedBy: (r.last_modified_by as string | null) ?? null,
    lastRun: toRunSummary(r, "last_"),
    running: { count: num(r.running_count), since: iso(r.running_since) },
    stats: toWindowStats(r),
  };
}

export interface DashboardSummary {
  totalJobs: number;
  enabledJobs: number;
  disabledJobs: number;
  pausedJobs: number;
  deadLetteredJobs: number;
  runningJobs: number;
  /** Finished runs over the window (30 days). */
  totalExecutions: number;
  totalFailures: number;
  overallSuccessRate: number | null;
}

/**
 * The summary cards, from an (unfiltered) overview. enabledJobs counts jobs that run on
 * schedule: enabled and neither paused nor dead-lettered; disabledJobs is the rest.
 */
export function summarize(overview: readonly JobOverview[], running: number = overview.reduce((n, j) => n + j.running.count, 0)): DashboardSummary {
  const totalExecutions = overview.reduce((n, j) => n + j.stats.runs, 0);
  const totalFailures = overview.reduce((n, j) => n + j.stats.failures, 0);
  const enabledJobs = overview.filter((j) => j.state === "enabled").length;
  return {
    totalJobs: overview.length,
    enabledJobs,
    disabledJobs: overview.length - enabledJobs,
    pausedJobs: overview.filter((j) => j.state === "paused").length,
    deadLetteredJobs: overview.filter((j) => j.state === "dead_lettered").length,
    runningJobs: running,
    totalExecutions,
    totalFailures,
    overallSuccessRate: rate(totalExecutions - totalFailures, totalExecutions),
  };
}

/** The summary cards on their own (one overview query). */
export async function summary(db: Db, jobs: readonly JobDefinition[]): Promise<DashboardSummary> {
  return summarize(await jobsOverview(db, jobs));
}

/** How many jobs of each category, in the registry's order of first appearance. */
export function categoriesOf(jobs: readonly Pick<JobDefinition, "category">[]): Record<string, number> {
  const categories: Record<string, number> = {};
  for (const job of jobs) categories[job.category] = (categories[job.category] ?? 0) + 1;
  return categories;
}

// ---------------------------------------------------------------------------------------
// Running jobs and locks

export interface RunningJob {
  runId: string;
  jobName: string;
  startedAt: string;
  runningSeconds: number;
  scheduledFor: string | null;
  trigger: string;
  holder: string | null;
  /** The job's lease (or, for overlap "allow" jobs, the run's own). */
  leaseExpiresAt: string | null;
  /** The lease expired with no result recorded; the tick will mark the run abandoned. */
  stale: boolean;
}

/** Runs holding status "started", longest-running first (the running_cron_jobs view plus the lease). */
export async function runningJobs(db: Db): Promise<RunningJob[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`SELECT r.id, r.job_name, r.started_at, r.running_duration_seconds, r.scheduled_for, r.trigger, r.holder,
               coalesce(k.expires_at, r.lease_expires_at) AS lease_expires_at,
               coalesce(coalesce(k.expires_at, r.lease_expires_at) <= now(), false) AS stale
        FROM running_cron_jobs r LEFT JOIN cron_job_leases k ON k.run_id = r.id
        ORDER BY r.started_at ASC, r.id ASC`,
  );
  return rows.map((r) => ({
    runId: r.id as string,
    jobName: r.job_name as string,
    startedAt: iso(r.started_at)!,
    runningSeconds: num(r.running_duration_seconds),
    scheduledFor: iso(r.scheduled_for),
    trigger: r.trigger as string,
    holder: (r.holder as string | null) ?? null,
    leaseExpiresAt: iso(r.lease_expires_at),
    stale: Boolean(r.stale),
  }));
}

export interface LockInfo {
  jobName: string;
  runId: string;
  fencingToken: number;
  holder: string;
  acquiredAt: string;
  expiresAt: string;
  /** Seconds until the lease expires by the database clock; negative once it has. */
  expiresInSeconds: number;
  /** Expired: no confirmed heartbeat in time (the holder crashed, froze or lost the database). */
  stale: boolean;
  heldSeconds: number;
  run: { status: string | null; trigger: string | null; startedAt: string | null; scheduledFor: string | null } | null;
}

/** Every job lease, oldest first. */
export async function locks(db: Db): Promise<LockInfo[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`SELECT k.job_name, k.run_id, k.fencing_token, k.holder, k.acquired_at, k.expires_at,
               floor(extract(epoch FROM k.expires_at - now()))::int AS expires_in_s,
               floor(extract(epoch FROM now() - k.acquired_at))::int AS held_s,
               k.expires_at <= now() AS stale,
               l.id AS run_found, l.status AS run_status, l.trigger AS run_trigger, l.started_at AS run_started_at,
               l.scheduled_for AS run_scheduled_for
        FROM cron_job_leases k LEFT JOIN cron_job_logs l ON l.id = k.run_id
        ORDER BY k.acquired_at ASC, k.job_name ASC`,
  );
  return rows.map((r) => ({
    jobName: r.job_name as string,
    runId: r.run_id as string,
    fencingToken: num(r.fencing_token),
    holder: r.holder as string,
    acquiredAt: iso(r.acquired_at)!,
    expiresAt: iso(r.expires_at)!,
    expiresInSeconds: num(r.expires_in_s),
    stale: Boolean(r.stale),
    heldSeconds: num(r.held_s),
    run: r.run_found
      ? { status: r.run_status as string, trigger: r.run_trigger as string, startedAt: iso(r.run_started_at), scheduledFor: iso(r.run_scheduled_for) }
      : null,
  }));
}

// ---------------------------------------------------------------------------------------
// One job: state, history, stats, timeline

export interface JobRuntimeState {
  enabled: boolean;
  paused: boolean;
  pausedReason: string | null;
  pausedAt: string | null;
  deadLettered: boolean;
  deadLetterReason: string | null;
  deadLetteredSince: string | null;
  consecutiveFailures: number;
  state: JobState;
  lastModifiedAt: string | null;
  lastModifiedBy: string | null;
  notes: string | null;
}

export async function jobState(db: Db, jobName: string, enabledByDefault: boolean): Promise<JobRuntimeState> {
  const [c] = await queryRows<Record<string, unknown>>(db, sql`SELECT * FROM cron_job_config WHERE job_name = ${jobName}`);
  const enabled = (c?.enabled as boolean | null | undefined) ?? enabledByDefault;
  const paused = Boolean(c?.paused);
  const deadLettered = Boolean(c?.dead_lettered);
  return {
    enabled,
    paused,
    pausedReason: (c?.paused_reason as string | null | undefined) ?? null,
    pausedAt: iso(c?.paused_at),
    deadLettered,
    deadLetterReason: (c?.dead_letter_reason as string | null | undefined) ?? null,
    deadLetteredSince: iso(c?.dead_lettered_since),
    consecutiveFailures: num(c?.consecutive_failures),
    state: deadLettered ? "dead_lettered" : paused ? "paused" : enabled ? "enabled" : "disabled",
    lastModifiedAt: iso(c?.last_modified_at),
    lastModifiedBy: (c?.last_modified_by as string | null | undefined) ?? null,
    notes: (c?.notes as string | null | undefined) ?? null,
  };
}

export interface HistoryRun extends RunSummary {
  actor: string | null;
  replayOf: string | null;
  holder: string | null;
}

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

/**
 * ORDER BY clauses for a job's runs. Newest first must read `started_at DESC NULLS LAST`,
 * the exact order of idx_cron_logs_job_started: a plain `DESC` (NULLS FIRST) does not match
 * it, and Postgres then sorts every run of the job instead of reading 50 index entries.
 */
export const HISTORY_SORTS: ReadonlyMap<string, (order: SortOrder) => SQL> = new Map([
  ["startedAt", (o: SortOrder) => (o === "asc" ? sql`started_at ASC NULLS FIRST, id ASC` : sql`started_at DESC NULLS LAST, id DESC`)],
  ["duration", (o: SortOrder) => sql`duration_ms ${o === "asc" ? sql.raw("ASC") : sql.raw("DESC")} NULLS LAST, started_at DESC NULLS LAST, id DESC`],
  ["status", (o: SortOrder) => sql`status ${o === "asc" ? sql.raw("ASC") : sql.raw("DESC")}, started_at DESC NULLS LAST, id DESC`],
]);

export interface JobHistoryOptions {
  /** Runs to list, newest first. Default 50. */
  limit?: number;
  offset?: number;
  /** Window for stats, timeline and the list. Default 30. */
  days?: number;
  /** Only runs with this status. */
  status?: string | null;
  /** Only runs of this trigger. */
  trigger?: string | null;
  /** A key of HISTORY_SORTS; default startedAt (descending). */
  sort?: string;
  order?: SortOrder;
}

const TRIGGERS = new Set(["schedule", "manual", "retry", "replay", "catchup", "tick"]);

export async function jobHistory(db: Db, jobName: string, opts: JobHistoryOptions = {}): Promise<JobHistory> {
  const limit = opts.limit ?? 50;
  const days = opts.days ?? 30;
  const orderBy = pick(HISTORY_SORTS, opts.sort ?? "startedAt", "sort")(opts.order ?? "desc");
  if (opts.status && !(RUN_STATUSES as readonly string[]).includes(opts.status)) {
    throw new AdminQueryError("invalid_filter", "status", `status must be one of ${RUN_STATUSES.join(", ")}`);
  }
  if (opts.trigger && !TRIGGERS.has(opts.trigger)) throw new AdminQueryError("invalid_filter", "trigger", `trigger must be one of ${[...TRIGGERS].join(", ")}`);
  const [history, stats, timeline] = await Promise.all([
    queryRows<Record<string, unknown>>(
      db,
      sql`SELECT id, status, skip_reason, trigger, scheduled_for, started_at, completed_at, duration_ms, attempts, error_message, actor, replay_of, holder
          FROM cron_job_logs
          WHERE job_name = ${jobName} AND started_at >= now() - make_interval(days => ${days}::int)
            AND (${opts.status ?? null}::text IS NULL OR status = ${opts.status ?? null})
            AND (${opts.trigger ?? null}::text IS NULL OR trigger = ${opts.trigger ?? null})
          ORDER BY ${orderBy}
          LIMIT ${limit} OFFSET ${opts.offset ?? 0}`,
    ),
    jobStats(db, jobName, days),
    jobTimeline(db, jobName, days),
  ]);
  return {
    history: history.map((r) => ({
      ...toRunSummary(r, "")!,
      actor: (r.actor as string | null) ?? null,
      replayOf: (r.replay_of as string | null) ?? null,
      holder: (r.holder as string | null) ?? null,
    })),
    stats,
    timeline: timeline.buckets,
    granularity: timeline.granularity,
  };
}

/** A job's stats over `days` (whole UTC hours) from the rollup, plus its latest run. */
export async function jobStats(db: Db, jobName: string, days = 30): Promise<JobStats> {
  const [r] = await queryRows<Record<string, unknown>>(
    db,
    sql`WITH win AS MATERIALIZED (${windowRows(days, sql`s.job_name = ${jobName}`)}), ${P95_CTE}
        SELECT coalesce(sum(w.successes), 0)::int AS successes, coalesce(sum(w.failures), 0)::int AS failures,
               coalesce(sum(w.timed_out), 0)::int AS timed_out, coalesce(sum(w.abandoned), 0)::int AS abandoned,
               coalesce(sum(w.missed), 0)::int AS missed,
               (SELECT count(*)::int FROM cron_job_logs k
                 WHERE k.job_name = ${jobName} AND k.status = 'skipped' AND k.started_at >= ${windowStart(days)}) AS skipped,
               round(sum(w.duration_sum_ms)::numeric / nullif(sum(w.duration_count), 0))::int AS avg_duration_ms,
               (SELECT ${P95_MS_SQL(sql`p.idx`)} FROM p95 p) AS p95_duration_ms,
               (SELECT row_to_json(lr) FROM (
                  SELECT l.id, l.status, l.skip_reason, l.trigger, l.scheduled_for, l.started_at, l.completed_at, l.duration_ms, l.attempts, l.error_message AS error
                  FROM cron_job_logs l WHERE l.job_name = ${jobName} ORDER BY l.started_at DESC NULLS LAST LIMIT 1) lr) AS last_run
        FROM win w`,
  );
  const w = toWindowStats(r);
  const last = (typeof r.last_run === "string" ? JSON.parse(r.last_run) : r.last_run) as Record<string, unknown> | null;
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
    lastRun: last ? toRunSummary(last, "") : null,
  };
}

/** Runs per bucket from the rollups: hourly for up to 2 days, daily (UTC days) beyond. */
export async function jobTimeline(db: Db, jobName: string, days = 30): Promise<{ granularity: "hour" | "day"; buckets: TimelineBucket[] }> {
  const hourly = days <= 2;
  const unit = hourly ? "hour" : "day";
  const count = hourly ? days * 24 : days;
  const step = hourly ? sql`interval '1 hour'` : sql`interval '24 hours'`;
  const rows = await queryRows<Record<string, unknown>>(
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
      time_bucket: iso(r.bucket)!,
      executions: num(r.successes) + num(r.failures),
      successes: num(r.successes),
      failures: num(r.failures),
      avg_duration_ms: numOrNull(r.avg_duration_ms),
    })),
  };
}

export interface RunDetail extends HistoryRun {
  jobName: string;
  createdAt: string | null;
  dedupeKey: string | null;
  fencingToken: number | null;
  leaseExpiresAt: string | null;
  errorStack: string | null;
  output: unknown;
  logLines: Array<{ at: string; message: string; data?: Record<string, unknown> }>;
  attemptDetails: Array<{ attempt: number; startedAt: string; durationMs: number; error?: string; timedOut?: boolean }>;
  codeVersion: string | null;
  cancelRequestedAt: string | null;
  nextRetryAt: string | null;
  /** Replays of this run, newest first. */
  replays: Array<{ id: string; status: string; startedAt: string }>;
  deadLetter: { id: string; recoveryStatus: string; replayCount: number } | null;
}

const jsonValue = (v: unknown): unknown => (typeof v === "string" ? JSON.parse(v) : v);

/** One run with every column: attempts, log lines, error and stack, output. Null when there is no such run. */
export async function getRun(db: Db, id: string): Promise<RunDetail | null> {
  const [r] = await queryRows<Record<string, unknown>>(
    db,
    sql`SELECT l.*,
               (SELECT coalesce(json_agg(json_build_object('id', x.id, 'status', x.status, 'startedAt', x.started_at) ORDER BY x.started_at DESC), '[]'::json)
                  FROM cron_job_logs x WHERE x.replay_of = l.id) AS replays,
               (SELECT json_build_object('id', d.id, 'recoveryStatus', d.recovery_status, 'replayCount', d.replay_count)
                  FROM cron_dead_letters d WHERE d.run_id = l.id) AS dead_letter
        FROM cron_job_logs l WHERE l.id = ${id}::uuid`,
  );
  if (!r) return null;
  const replays = (jsonValue(r.replays) as Array<{ id: string; status: string; startedAt: string }>) ?? [];
  return {
    ...toRunSummary(r, "")!,
    jobName: r.job_name as string,
    actor: (r.actor as string | null) ?? null,
    replayOf: (r.replay_of as string | null) ?? null,
    holder: (r.holder as string | null) ?? null,
    createdAt: iso(r.created_at),
    dedupeKey: (r.dedupe_key as string | null) ?? null,
    fencingToken: numOrNull(r.fencing_token),
    leaseExpiresAt: iso(r.lease_expires_at),
    errorStack: (r.error_stack as string | null) ?? null,
    output: jsonValue(r.output) ?? null,
    logLines: (jsonValue(r.log_lines) as RunDetail["logLines"]) ?? [],
    attemptDetails: (jsonValue(r.attempt_details) as RunDetail["attemptDetails"]) ?? [],
    codeVersion: (r.code_version as string | null) ?? null,
    cancelRequestedAt: iso(r.cancel_requested_at),
    nextRetryAt: iso(r.next_retry_at),
    replays: replays.map((x) => ({ ...x, startedAt: iso(x.startedAt)! })),
    deadLetter: (jsonValue(r.dead_letter) as RunDetail["deadLetter"]) ?? null,
  };
}

// ---------------------------------------------------------------------------------------
// Statistics over the last hours (raw rows: a day is small; the index on started_at finds it)

export interface StatusCounts {
  total: number;
  completed: number;
  failed: number;
  timedOut: number;
  abandoned: number;
  skipped: number;
  missed: number;
  running: number;
  queued: number;
  retryScheduled: number;
  /** completed / (completed + failed + timed out + abandoned), percent. */
  successRate: number | null;
}

export interface Statistics {
  windowHours: number;
  since: string;
  overall: StatusCounts;
  jobs: Array<StatusCounts & { jobName: string }>;
  deadLetters: { pending: number; replayed: number; resolved: number; permanentlyFailed: number };
  locks: {
    /** Runs that took their claim (and the lease, for jobs that hold one). */
    acquired: number;
    /** Triggers that lost: skipped because a run held the lease, or because the slot already had its run. */
    missed: number;
    /** missed / (acquired + missed), percent. */
    contentionRate: number | null;
    /** Runs whose lease expired under them (abandoned). */
    leasesExpired: number;
    /** Leases held now, and how many of them are stale. */
    held: number;
    stale: number;
  };
}

export async function statistics(db: Db, opts: { hours?: number } = {}): Promise<Statistics> {
  const hours = opts.hours ?? 24;
  const [rows, [lockNow], dlq, [since]] = await Promise.all([
    queryRows<Record<string, unknown>>(
      db,
      sql`SELECT job_name,
                 count(*)::int AS total,
                 count(*) FILTER (WHERE status = 'completed')::int AS completed,
                 count(*) FILTER (WHERE status = 'failed')::int AS failed,
                 count(*) FILTER (WHERE status = 'timed_out')::int AS timed_out,
                 count(*) FILTER (WHERE status = 'abandoned')::int AS abandoned,
                 count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
                 count(*) FILTER (WHERE status = 'missed')::int AS missed,
                 count(*) FILTER (WHERE status = 'started')::int AS running,
                 count(*) FILTER (WHERE status = 'queued')::int AS queued,
                 count(*) FILTER (WHERE status = 'retry_scheduled')::int AS retry_scheduled,
                 count(*) FILTER (WHERE status = 'skipped' AND skip_reason IN ('already_running', 'duplicate'))::int AS lock_missed,
                 count(*) FILTER (WHERE status IN ('started', 'completed', 'failed', 'timed_out', 'abandoned', 'retry_scheduled'))::int AS acquired
          FROM cron_job_logs
          WHERE started_at >= now() - make_interval(hours => ${hours}::int)
          GROUP BY job_name ORDER BY job_name`,
    ),
    queryRows<{ held: number; stale: number }>(db, sql`SELECT count(*)::int AS held, count(*) FILTER (WHERE expires_at <= now())::int AS stale FROM cron_job_leases`),
    deadLetterSummary(db),
    queryRows<{ since: unknown }>(db, sql`SELECT now() - make_interval(hours => ${hours}::int) AS since`),
  ]);
  const counts = (r: Record<string, unknown>): StatusCounts => {
    const completed = num(r.completed);
    const failures = num(r.failed) + num(r.timed_out) + num(r.abandoned);
    return {
      total: num(r.total),
      completed,
      failed: num(r.failed),
      timedOut: num(r.timed_out),
      abandoned: num(r.abandoned),
      skipped: num(r.skipped),
      missed: num(r.missed),
      running: num(r.running),
      queued: num(r.queued),
      retryScheduled: num(r.retry_scheduled),
      successRate: rate(completed, completed + failures),
    };
  };
  const sumOf = (key: string) => rows.reduce((n, r) => n + num(r[key]), 0);
  const totals: Record<string, unknown> = {};
  for (const key of ["total", "completed", "failed", "timed_out", "abandoned", "skipped", "missed", "running", "queued", "retry_scheduled"]) totals[key] = sumOf(key);
  const acquired = sumOf("acquired");
  const missed = sumOf("lock_missed");
  return {
    windowHours: hours,
    since: iso(since.since)!,
    overall: counts(totals),
    jobs: rows.map((r) => ({ jobName: r.job_name as string, ...counts(r) })),
    deadLetters: {
      pending: num(dlq?.pending),
      replayed: num(dlq?.replayed),
      resolved: num(dlq?.resolved),
      permanentlyFailed: num(dlq?.permanently_failed),
    },
    locks: {
      acquired,
      missed,
      contentionRate: rate(missed, acquired + missed),
      leasesExpired: sumOf("abandoned"),
      held: num(lockNow?.held),
      stale: num(lockNow?.stale),
    },
  };
}
