import { sql, type SQL } from "drizzle-orm";
import type { JobDefinition } from "../../cron/define-job";
import { nextScheduledRun } from "../../cron/next-run";
import { nextRunAfter, scheduleNotation } from "../../cron/schedule";
import {
  JOB_STATES,
  OUTCOME_STATUSES,
  jobStateOf,
  type JobState,
  type NotScheduledReason,
  type RunStatus,
  type RunTrigger,
  type SkipReason,
} from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, num, type DbNumber, type DbTime } from "../rows";
import { direction, escapeLike, pgTextArray, pick, type SortOrder } from "./params";
import { P95_CTE, P95_MS_SQL, rate, toWindowStats, windowRows, type WindowRow, type WindowStats } from "./rollups";
import { LEASE_EXPIRES_SQL, LEASE_STALE_SQL, toRunSummary, type RunSummary } from "./runs";

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
  /**
   * When the schedule next runs the job (after a snooze's end, past a slot an operator skipped);
   * null while it will not run on schedule, with the reason in `notScheduled`.
   */
  nextRunAt: string | null;
  /** Why there is no next run (NOT_SCHEDULED_REASONS: dead-lettered, paused, disabled, or the schedule ended). */
  notScheduled: NotScheduledReason | null;
  /** What the code says; `enabled` is what applies now (the database may override it). */
  enabledByDefault: boolean;
  lastModifiedAt: string | null;
  lastModifiedBy: string | null;
  /**
   * The job's newest row that is not a skip: its latest run, or a missed slot. A duplicate
   * delivery or a paused slot after a failure does not hide the failure.
   */
  lastRun: RunSummary | null;
  /** True when lastRun is still "started" but its lease expired: a stale run, not a running one. */
  lastRunStale: boolean;
  /** The newest skip, when it is newer than lastRun (what the triggers since then met); else null. */
  lastSkip: { runId: string; at: string; reason: SkipReason | null } | null;
  /**
   * True when the newest row that settled a slot (OUTCOME_STATUSES) is not completed: the job's
   * latest slot failed, timed out, was abandoned or was missed, and no later slot has succeeded.
   */
  failing: boolean;
  /** That newest settling row (null: no slot has settled yet). */
  lastOutcome: { runId: string; status: RunStatus; startedAt: string } | null;
  /**
   * Runs holding status "started": `count` of them with a live lease (`since`: the oldest's
   * start), `stale` whose lease expired (their holder stopped without recording an end; the
   * sweep or a lease clear abandons them), with the oldest's holder and lease expiry.
   */
  running: { count: number; since: string | null; stale: number; staleHolder: string | null; staleSince: string | null };
  /** Dead-letter entries of the job waiting for an operator (recovery_status pending). */
  pendingDeadLetters: number;
  /** Over the last 30 days (whole UTC hours). */
  stats: WindowStats;
}

/**
 * Sorts, the first the default: "attention" puts first what needs an operator (dead-lettered,
 * then failing, then a stale run, then pending dead letters), then by name.
 */
export const JOB_SORTS: ReadonlyMap<string, SQL> = new Map([
  ["attention", sql`attention`],
  ["name", sql`name`],
  ["category", sql`category`],
  ["state", sql`state`],
  ["nextRun", sql`next_run_sort`],
  ["lastRun", sql`last_started_at`],
  ["runs", sql`runs`],
  ["failures", sql`failures`],
  ["successRate", sql`success_rate`],
  ["avgDuration", sql`avg_duration_ms`],
  ["p95Duration", sql`p95_duration_ms`],
  ["consecutiveFailures", sql`consecutive_failures`],
]);
/**
 * A job state, or "failing" (see JobOverview.failing), "running" (a run with a live lease),
 * "stale" (a run whose lease expired) or "dead_letters" (pending dead-letter entries).
 */
export const JOB_STATE_FILTERS: ReadonlyMap<string, SQL> = new Map([
  ...JOB_STATES.map((state): [string, SQL] => [state, sql`state = ${state}`]),
  ["failing", sql`failing`],
  ["running", sql`running_count > 0`],
  ["stale", sql`stale_count > 0`],
  ["dead_letters", sql`pending_dead_letters > 0`],
]);

export interface JobsOverviewOptions {
  /** A key of JOB_SORTS; default "attention". */
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
  last_stale: boolean;
  skip_id: string | null;
  skip_at: DbTime | null;
  skip_reason: SkipReason | null;
  outcome_id: string | null;
  outcome_status: RunStatus | null;
  outcome_started_at: DbTime | null;
  failing: boolean;
  running_count: DbNumber;
  running_since: DbTime | null;
  stale_count: DbNumber;
  stale_holder: string | null;
  stale_since: DbTime | null;
  pending_dead_letters: DbNumber;
  pending_dead_letters_total: DbNumber;
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
 * (`every`, in the same order): the dashboard's summary is over all of them. With them, the
 * pending dead letters of every job (registered or not), as the dead-letter page counts them.
 */
export async function jobsOverviewAndEvery(
  db: Db,
  jobs: readonly JobDefinition[],
  opts: JobsOverviewOptions = {},
): Promise<{ jobs: JobOverview[]; every: JobOverview[]; pendingDeadLetters: number }> {
  if (jobs.length === 0) return { jobs: [], every: [], pendingDeadLetters: 0 };
  const now = opts.now ?? new Date();
  const sortSql = pick(JOB_SORTS, opts.sort ?? "attention", "sort");
  const stateSql = opts.state ? pick(JOB_STATE_FILTERS, opts.state, "state") : sql`true`;
  const defs = jobs.map((job, ord) => ({
    name: job.name,
    category: job.category,
    description: job.description,
    schedule: scheduleNotation(job.schedule),
    timezone: job.schedule.kind === "every" || job.schedule.kind === "once" ? "UTC" : job.schedule.timezone,
    enabled_default: job.enabled,
    // The schedule's next slot; the query sorts by it (or by a snooze's end), toOverview states it exactly.
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
        ), ${P95_CTE}, dlq AS (
          SELECT q.job_name, count(*)::int AS pending FROM cron_dead_letters q WHERE q.recovery_status = 'pending' GROUP BY q.job_name
        ), overview AS (
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
                 lr.duration_ms AS last_duration_ms, lr.attempts AS last_attempts, lr.error_message AS last_error, coalesce(lr.stale, false) AS last_stale,
                 ls.id AS skip_id, ls.started_at AS skip_at, ls.skip_reason AS skip_reason,
                 fo.id AS outcome_id, fo.status AS outcome_status, fo.started_at AS outcome_started_at,
                 coalesce(fo.status <> 'completed', false) AS failing,
                 rn.running_count, rn.running_since, rn.stale_count, rn.stale_holder, rn.stale_since,
                 coalesce(q.pending, 0) AS pending_dead_letters,
                 (SELECT coalesce(sum(t.pending), 0)::int FROM dlq t) AS pending_dead_letters_total,
                 -- The schedule's next slot while the job runs on schedule, or a snooze's end if later (toOverview is exact).
                 CASE WHEN coalesce(c.dead_lettered, false) OR coalesce(c.paused, false) OR NOT coalesce(c.enabled, d.enabled_default)
                        OR d.next_run_at IS NULL THEN NULL
                      ELSE greatest(d.next_run_at, c.snoozed_until) END AS next_run_sort
          FROM defs d
          LEFT JOIN cron_job_config c ON c.job_name = d.name
          LEFT JOIN agg a ON a.job_name = d.name
          LEFT JOIN p95 p ON p.job_name = d.name
          LEFT JOIN dlq q ON q.job_name = d.name
          -- The newest row that is not a skip, and the newest that settled a slot: both walk
          -- idx_cron_logs_job_not_skipped from the newest entry (0017).
          LEFT JOIN LATERAL (
            SELECT r.id, r.status, r.skip_reason, r.trigger, r.scheduled_for, r.started_at, r.completed_at, r.duration_ms, r.attempts, r.error_message,
                   r.status = 'started' AND ${LEASE_STALE_SQL} AS stale
            FROM cron_job_logs r LEFT JOIN cron_job_leases k ON k.run_id = r.id
            WHERE r.job_name = d.name AND r.status <> 'skipped' ORDER BY r.started_at DESC NULLS LAST LIMIT 1
          ) lr ON true
          LEFT JOIN LATERAL (
            SELECT f.id, f.status, f.started_at FROM cron_job_logs f
            WHERE f.job_name = d.name AND f.status <> 'skipped' AND f.status = ANY(${pgTextArray(OUTCOME_STATUSES)}::text[])
            ORDER BY f.started_at DESC NULLS LAST LIMIT 1
          ) fo ON true
          LEFT JOIN LATERAL (
            SELECT s.id, s.started_at, s.skip_reason FROM cron_job_logs s
            WHERE s.job_name = d.name AND s.status = 'skipped' ORDER BY s.started_at DESC LIMIT 1
          ) ls ON true
          LEFT JOIN LATERAL (
            SELECT count(*) FILTER (WHERE NOT x.stale)::int AS running_count, min(x.started_at) FILTER (WHERE NOT x.stale) AS running_since,
                   count(*) FILTER (WHERE x.stale)::int AS stale_count, min(x.lease_expires_at) FILTER (WHERE x.stale) AS stale_since,
                   (array_agg(x.holder ORDER BY x.lease_expires_at) FILTER (WHERE x.stale))[1] AS stale_holder
            FROM (SELECT r.started_at, coalesce(k.holder, r.holder) AS holder, ${LEASE_EXPIRES_SQL} AS lease_expires_at, ${LEASE_STALE_SQL} AS stale
                  FROM cron_job_logs r LEFT JOIN cron_job_leases k ON k.run_id = r.id
                  WHERE r.job_name = d.name AND r.status = 'started') x
          ) rn ON true
        ), ranked AS (
          SELECT o.*, CASE WHEN o.dead_lettered THEN 0 WHEN o.failing THEN 1 WHEN o.stale_count > 0 THEN 2 WHEN o.pending_dead_letters > 0 THEN 3 ELSE 4 END AS attention
          FROM overview o
        )
        SELECT *, coalesce((${opts.category ?? null}::text IS NULL OR category = ${opts.category ?? null})
                    AND (${search}::text IS NULL OR name ILIKE ${search} OR description ILIKE ${search})
                    AND ${stateSql}, false) AS matches
        FROM ranked
        ORDER BY ${sortSql} ${direction(opts.order, "asc")} NULLS LAST, name ASC`,
  );
  const byName = new Map(jobs.map((job) => [job.name, job]));
  const every = rows.map((r) => ({ overview: toOverview(r, byName.get(r.name)!, now), matches: Boolean(r.matches) }));
  return {
    jobs: every.filter((e) => e.matches).map((e) => e.overview),
    every: every.map((e) => e.overview),
    pendingDeadLetters: num(rows[0]?.pending_dead_letters_total),
  };
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

function toOverview(r: OverviewRow, job: JobDefinition, now: Date): JobOverview {
  const state = configStateOf(r, Boolean(r.enabled_default));
  const next = nextScheduledRun(job.schedule, state, now);
  const lastRun = lastRunOf(r);
  const skipAt = isoOrNull(r.skip_at);
  const skipIsNewer = r.skip_id != null && skipAt !== null && (lastRun === null || Date.parse(skipAt) > Date.parse(lastRun.startedAt));
  return {
    name: r.name,
    description: r.description,
    category: r.category,
    schedule: r.schedule,
    timezone: r.timezone,
    nextRunAt: next.at?.toISOString() ?? null,
    notScheduled: next.notScheduled,
    enabledByDefault: Boolean(r.enabled_default),
    ...state,
    lastModifiedAt: isoOrNull(r.last_modified_at),
    lastModifiedBy: r.last_modified_by ?? null,
    lastRun,
    lastRunStale: Boolean(r.last_stale),
    lastSkip: skipIsNewer ? { runId: r.skip_id!, at: skipAt, reason: r.skip_reason ?? null } : null,
    failing: Boolean(r.failing),
    lastOutcome: r.outcome_id != null ? { runId: r.outcome_id, status: r.outcome_status!, startedAt: iso(r.outcome_started_at!) } : null,
    running: {
      count: num(r.running_count),
      since: isoOrNull(r.running_since),
      stale: num(r.stale_count),
      staleHolder: r.stale_holder ?? null,
      staleSince: isoOrNull(r.stale_since),
    },
    pendingDeadLetters: num(r.pending_dead_letters),
    stats: toWindowStats(r),
  };
}

export interface DashboardSummary {
  totalJobs: number;
  /** Enabled and neither paused nor dead-lettered: they run on schedule. */
  enabledJobs: number;
  /** Disabled only (paused and dead-lettered jobs are counted apart). */
  disabledJobs: number;
  pausedJobs: number;
  deadLetteredJobs: number;
  /** Jobs whose latest slot did not succeed (JobOverview.failing). */
  failingJobs: number;
  /** Runs with a live lease. */
  runningJobs: number;
  /** Runs still "started" whose lease expired. */
  staleRuns: number;
  /** Dead-letter entries waiting for an operator. */
  pendingDeadLetters: number;
  /** Finished runs over the window (30 days). */
  totalExecutions: number;
  totalFailures: number;
  overallSuccessRate: number | null;
}

/**
 * The summary cards, from an (unfiltered) overview: each job counted in its one state. Running
 * and stale runs, and pending dead letters, are the overview's sums unless `totals` gives them
 * over everything (runs and dead letters of jobs no longer registered included).
 */
export function summarize(
  overview: readonly JobOverview[],
  totals: { running?: number; stale?: number; pendingDeadLetters?: number } = {},
): DashboardSummary {
  const totalExecutions = overview.reduce((n, j) => n + j.stats.runs, 0);
  const totalFailures = overview.reduce((n, j) => n + j.stats.failures, 0);
  const inState = (state: JobState) => overview.filter((j) => j.state === state).length;
  const sum = (of: (j: JobOverview) => number) => overview.reduce((n, j) => n + of(j), 0);
  return {
    totalJobs: overview.length,
    enabledJobs: inState("enabled"),
    disabledJobs: inState("disabled"),
    pausedJobs: inState("paused"),
    deadLetteredJobs: inState("dead_lettered"),
    failingJobs: overview.filter((j) => j.failing).length,
    runningJobs: totals.running ?? sum((j) => j.running.count),
    staleRuns: totals.stale ?? sum((j) => j.running.stale),
    pendingDeadLetters: totals.pendingDeadLetters ?? sum((j) => j.pendingDeadLetters),
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
