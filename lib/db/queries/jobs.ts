import { sql, type SQL } from "drizzle-orm";
import type { JobDefinition } from "../../cron/define-job";
import { nextRunAfter } from "../../cron/schedule";
import { scheduleNotation } from "../../cron/schedule";
import { JOB_STATES, jobStateOf, type JobState, type RunStatus, type RunTrigger, type SkipReason } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, num, type DbNumber, type DbTime } from "../rows";
import { direction, escapeLike, pgTextArray, pick, type SortOrder } from "./params";
import { P95_CTE, P95_MS_SQL, rate, toWindowStats, windowRows, type WindowRow, type WindowStats } from "./rollups";
import { toRunSummary, type RunSummary } from "./runs";

/**
 * The jobs as the admin API and the dashboard list them: the registry's definitions joined
 * with their runtime state (cron_job_config), latest run, what is running, and their stats
 * over days from the rollups (never a scan of the runs).
 */

/** A job's runtime switches from cron_job_config, as every read of its state shows them. */
export interface JobConfigState {
  /** What applies now: the database's override, else the code's default. */
  enabled: boolean;
  paused: boolean;
  pausedReason: string | null;
  pausedAt: string | null;
  deadLettered: boolean;
  deadLetterReason: string | null;
  deadLetteredSince: string | null;
  consecutiveFailures: number;
  /** dead_lettered > paused > disabled > enabled. */
  state: JobState;
  /** A snooze (maintenance window): slots before it are skipped as snoozed. Past: it has ended by itself. */
  snoozedUntil: string | null;
  snoozeReason: string | null;
  snoozedBy: string | null;
  /** Slots an operator asked to skip (skip-next), ascending; may hold past ones until the next write. */
  skipSlots: string[];
  skipRequestedBy: string | null;
}

/** The cron_job_config columns behind {@link JobConfigState}; all null without a config row. */
export interface ConfigStateColumns {
  enabled: boolean | null;
  paused: boolean | null;
  paused_reason: string | null;
  paused_at: DbTime | null;
  dead_lettered: boolean | null;
  dead_letter_reason: string | null;
  dead_lettered_since: DbTime | null;
  consecutive_failures: DbNumber | null;
  /** The snooze and skip-next columns: optional, so a reader that does not select them reads none. */
  snoozed_until?: DbTime | null;
  snooze_reason?: string | null;
  snoozed_by?: string | null;
  skip_slots?: DbTime[] | string | null;
  skip_requested_by?: string | null;
}

/** A timestamptz[] as either driver returns it (an array, or its text form '{"2026-..."}'), as ISO strings, ascending. */
export function isoArray(value: DbTime[] | string | null | undefined): string[] {
  if (value == null) return [];
  const items = typeof value === "string" ? value.replace(/^\{|\}$/g, "").split(",").filter(Boolean).map((v) => v.replace(/^"|"$/g, "")) : value;
  return items.map((v) => isoOrNull(v)).filter((v): v is string => v !== null).sort();
}

/** The one reading of a job's config row (undefined: no row, so the code's default applies). */
export function configStateOf(c: ConfigStateColumns | undefined, enabledByDefault: boolean): JobConfigState {
  const enabled = c?.enabled ?? enabledByDefault;
  const paused = Boolean(c?.paused);
  const deadLettered = Boolean(c?.dead_lettered);
  return {
    enabled,
    paused,
    pausedReason: c?.paused_reason ?? null,
    pausedAt: isoOrNull(c?.paused_at),
    deadLettered,
    deadLetterReason: c?.dead_letter_reason ?? null,
    deadLetteredSince: isoOrNull(c?.dead_lettered_since),
    consecutiveFailures: num(c?.consecutive_failures),
    state: jobStateOf(enabledByDefault, { enabled, paused, deadLettered }),
    snoozedUntil: isoOrNull(c?.snoozed_until),
    snoozeReason: c?.snooze_reason ?? null,
    snoozedBy: c?.snoozed_by ?? null,
    skipSlots: isoArray(c?.skip_slots),
    skipRequestedBy: c?.skip_requested_by ?? null,
  };
}

export interface JobOverview extends JobConfigState {
  name: string;
  description: string;
  category: string;
  schedule: string;
  timezone: string;
  /** Null: no further runs (a one-time job after its slot, a bounded job past its end). */
  nextRunAt: string | null;
  /** What the code says; `enabled` is what applies now (the database may override it). */
  enabledByDefault: boolean;
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
/** A job state, or "running" (a run holds status started) or "failing" (a failure streak). */
export const JOB_STATE_FILTERS: ReadonlyMap<string, SQL> = new Map([
  ...JOB_STATES.map((state): [string, SQL] => [state, sql`state = ${state}`]),
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

interface OverviewRow extends WindowRow, ConfigStateColumns {
  name: string;
  description: string;
  category: string;
  schedule: string;
  timezone: string;
  next_run_at: DbTime | null;
  enabled_default: boolean;
  last_modified_at: DbTime | null;
  last_modified_by: string | null;
  last_id: string | null;
  last_status: RunStatus | null;
  last_skip_reason: SkipReason | null;
  last_trigger: RunTrigger | null;
  last_scheduled_for: DbTime | null;
  last_started_at: DbTime | null;
  last_completed_at: DbTime | null;
  last_duration_ms: DbNumber | null;
  last_attempts: DbNumber | null;
  last_error: string | null;
  running_count: DbNumber;
  running_since: DbTime | null;
}

/**
 * One row per job of `jobs` (the registry), with its runtime state, its latest run, what
 * is running, and its stats over `days` from the rollups (see windowRows). Sorted and filtered in SQL
 * from allow-lists only.
 */
export async function jobsOverview(db: Db, jobs: readonly JobDefinition[], opts: JobsOverviewOptions = {}): Promise<JobOverview[]> {
  return (await jobsOverviewAndEvery(db, jobs, opts)).jobs;
}

/**
 * jobsOverview's rows in one round trip, with every job beside the ones the filters keep
 * (`every`, in the same order): the dashboard's summary is over all of them.
 */
export async function jobsOverviewAndEvery(db: Db, jobs: readonly JobDefinition[], opts: JobsOverviewOptions = {}): Promise<{ jobs: JobOverview[]; every: JobOverview[] }> {
  if (jobs.length === 0) return { jobs: [], every: [] };
  const now = opts.now ?? new Date();
  const sortSql = pick(JOB_SORTS, opts.sort ?? "name", "sort");
  const stateSql = opts.state ? pick(JOB_STATE_FILTERS, opts.state, "state") : sql`true`;
  const defs = jobs.map((job, ord) => ({
    name: job.name,
    category: job.category,
    description: job.description,
    schedule: scheduleNotation(job.schedule),
    timezone: job.schedule.kind === "every" || job.schedule.kind === "once" ? "UTC" : job.schedule.timezone,
    enabled_default: job.enabled,
    // Null: no further runs (a one-time job after its slot, a bounded job past its end).
    next_run_at: nextRunAfter(job.schedule, now)?.toISOString() ?? null,
    ord,
  }));
  const search = opts.search ? `%${escapeLike(opts.search)}%` : null;
  const rows = await queryRows<OverviewRow & { matches: boolean }>(
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
                 c.snoozed_until, c.snooze_reason, c.snoozed_by, c.skip_slots, c.skip_requested_by,
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
        SELECT *, coalesce((${opts.category ?? null}::text IS NULL OR category = ${opts.category ?? null})
                    AND (${search}::text IS NULL OR name ILIKE ${search} OR description ILIKE ${search})
                    AND ${stateSql}, false) AS matches
        FROM overview
        ORDER BY ${sortSql} ${direction(opts.order, "asc")} NULLS LAST, name ASC`,
  );
  const every = rows.map((r) => ({ overview: toOverview(r), matches: Boolean(r.matches) }));
  return { jobs: every.filter((e) => e.matches).map((e) => e.overview), every: every.map((e) => e.overview) };
}

function lastRunOf(r: OverviewRow): RunSummary | null {
  if (r.last_id == null) return null;
  return toRunSummary({
    id: r.last_id,
    status: r.last_status!,
    skip_reason: r.last_skip_reason,
    trigger: r.last_trigger!,
    scheduled_for: r.last_scheduled_for,
    started_at: r.last_started_at!,
    completed_at: r.last_completed_at,
    duration_ms: r.last_duration_ms,
    attempts: r.last_attempts,
    error_message: r.last_error,
  });
}

function toOverview(r: OverviewRow): JobOverview {
  return {
    name: r.name,
    description: r.description,
    category: r.category,
    schedule: r.schedule,
    timezone: r.timezone,
    nextRunAt: isoOrNull(r.next_run_at),
    enabledByDefault: Boolean(r.enabled_default),
    ...configStateOf(r, Boolean(r.enabled_default)),
    lastModifiedAt: isoOrNull(r.last_modified_at),
    lastModifiedBy: r.last_modified_by ?? null,
    lastRun: lastRunOf(r),
    running: { count: num(r.running_count), since: isoOrNull(r.running_since) },
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
  const inState = (state: JobState) => overview.filter((j) => j.state === state).length;
  const enabledJobs = inState("enabled");
  return {
    totalJobs: overview.length,
    enabledJobs,
    disabledJobs: overview.length - enabledJobs,
    pausedJobs: inState("paused"),
    deadLetteredJobs: inState("dead_lettered"),
    runningJobs: running,
    totalExecutions,
    totalFailures,
    overallSuccessRate: rate(totalExecutions - totalFailures, totalExecutions),
  };
}

/** How many jobs of each category, in the registry's order of first appearance. */
export function categoriesOf(jobs: readonly Pick<JobDefinition, "category">[]): Record<string, number> {
  const categories: Record<string, number> = {};
  for (const job of jobs) categories[job.category] = (categories[job.category] ?? 0) + 1;
  return categories;
}

export interface JobRuntimeState extends JobConfigState {
  lastModifiedAt: string | null;
  lastModifiedBy: string | null;
  notes: string | null;
  /** The run-time overrides as stored (lib/overrides; null: none), who set them and when. */
  overrides: Record<string, unknown> | null;
  overridesAt: string | null;
  overridesBy: string | null;
}

/** A cron_job_config row (SELECT * or RETURNING *) as a JobRuntimeState reads it. */
export interface ConfigRow extends ConfigStateColumns {
  last_modified_at: DbTime | null;
  last_modified_by: string | null;
  notes: string | null;
  overrides?: Record<string, unknown> | string | null;
  overrides_at?: DbTime | null;
  overrides_by?: string | null;
}

/** A job's runtime state from its config row (undefined: none, the code's default applies). */
export function toRuntimeState(c: ConfigRow | undefined, enabledByDefault: boolean): JobRuntimeState {
  return {
    ...configStateOf(c, enabledByDefault),
    lastModifiedAt: isoOrNull(c?.last_modified_at),
    lastModifiedBy: c?.last_modified_by ?? null,
    notes: c?.notes ?? null,
    overrides: typeof c?.overrides === "string" ? (JSON.parse(c.overrides) as Record<string, unknown>) : (c?.overrides ?? null),
    overridesAt: isoOrNull(c?.overrides_at),
    overridesBy: c?.overrides_by ?? null,
  };
}

/** A job's runtime state from cron_job_config; without a row, the code's default applies. */
export async function jobState(db: Db, jobName: string, enabledByDefault: boolean): Promise<JobRuntimeState> {
  const [c] = await queryRows<ConfigRow>(db, sql`SELECT * FROM cron_job_config WHERE job_name = ${jobName}`);
  return toRuntimeState(c, enabledByDefault);
}

/** jobState for each of `jobs` in one query, by job name (every job has an entry). */
export async function jobStates(db: Db, jobs: readonly Pick<JobDefinition, "name" | "enabled">[]): Promise<Map<string, JobRuntimeState>> {
  if (jobs.length === 0) return new Map();
  const rows = await queryRows<ConfigRow & { job_name: string }>(
    db,
    sql`SELECT * FROM cron_job_config WHERE job_name = ANY(${pgTextArray(jobs.map((j) => j.name))}::text[])`,
  );
  const byName = new Map(rows.map((c) => [c.job_name, c]));
  return new Map(jobs.map((job) => [job.name, toRuntimeState(byName.get(job.name), job.enabled)]));
}
