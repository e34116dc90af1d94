import { sql } from "drizzle-orm";
import { FAILURE_STATUSES, LOCK_MISS_REASONS, type RunStatus } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { deadLetterSummary, summaryJson } from "./dead-letters";
import { iso, num, type DbNumber, type DbTime } from "../rows";
import { inList } from "./params";
import { rate } from "./rollups";

/**
 * Counts over the last hours, from the raw rows (a day is small; the index on started_at
 * finds it): per status and job, the dead letters by recovery status, and the lock figures.
 */

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
  deadLetters: ReturnType<typeof summaryJson>;
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

/** The per-status counts a row of the query carries, by column. */
const COUNT_COLUMNS = ["total", "completed", "failed", "timed_out", "abandoned", "skipped", "missed", "running", "queued", "retry_scheduled"] as const;
type CountsRow = Record<(typeof COUNT_COLUMNS)[number], DbNumber>;

interface JobCountsRow extends CountsRow {
  job_name: string;
  lock_missed: DbNumber;
  acquired: DbNumber;
}

/** Rows of runs that took their claim: running, waiting for a retry, or finished. */
const CLAIMED_STATUSES = ["started", "retry_scheduled", "completed", ...FAILURE_STATUSES];

function toCounts(r: CountsRow): StatusCounts {
  const completed = num(r.completed);
  const failures = FAILURE_STATUSES.reduce((n, status) => n + num(r[status]), 0);
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
}

export async function statistics(db: Db, opts: { hours?: number } = {}): Promise<Statistics> {
  const hours = opts.hours ?? 24;
  const [rows, [now], dlq] = await Promise.all([
    queryRows<JobCountsRow>(
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
                 count(*) FILTER (WHERE status = 'skipped' AND ${inList(sql`skip_reason`, LOCK_MISS_REASONS)})::int AS lock_missed,
                 count(*) FILTER (WHERE ${inList(sql`status`, CLAIMED_STATUSES)})::int AS acquired
          FROM cron_job_logs
          WHERE started_at >= now() - make_interval(hours => ${hours}::int)
          GROUP BY job_name ORDER BY job_name`,
    ),
    // The leases held now, and the window's start by the same database clock (an aggregate: always one row).
    queryRows<{ held: DbNumber; stale: DbNumber; since: DbTime }>(
      db,
      sql`SELECT count(*)::int AS held, count(*) FILTER (WHERE expires_at <= now())::int AS stale, now() - make_interval(hours => ${hours}::int) AS since
          FROM cron_job_leases`,
    ),
    deadLetterSummary(db),
  ]);
  const sumOf = (key: Exclude<keyof JobCountsRow, "job_name">) => rows.reduce((n, r) => n + num(r[key]), 0);
  const totals = Object.fromEntries(COUNT_COLUMNS.map((key) => [key, sumOf(key)])) as CountsRow;
  const acquired = sumOf("acquired");
  const missed = sumOf("lock_missed");
  return {
    windowHours: hours,
    since: iso(now.since),
    overall: toCounts(totals),
    jobs: rows.map((r) => ({ jobName: r.job_name, ...toCounts(r) })),
    deadLetters: summaryJson(dlq),
    locks: {
      acquired,
      missed,
      contentionRate: rate(missed, acquired + missed),
      leasesExpired: sumOf("abandoned"),
      held: num(now.held),
      stale: num(now.stale),
    },
  };
}

/** How many rows of each status started within the last `minutes`, by status name. */
export async function runsPerStatus(db: Db, opts: { minutes: number }): Promise<Array<{ status: RunStatus; count: number }>> {
  const rows = await queryRows<{ status: RunStatus; n: DbNumber }>(
    db,
    sql`SELECT status, count(*)::int AS n FROM cron_job_logs WHERE started_at > now() - make_interval(mins => ${opts.minutes}::int) GROUP BY status ORDER BY status`,
  );
  return rows.map((r) => ({ status: r.status, count: num(r.n) }));
}
