import { sql, type SQL } from "drizzle-orm";
import { num, numOrNull, type DbNumber } from "../rows";

/**
 * The hourly and daily rollups (drizzle/0004_dashboard_rollups.sql) as the read side uses them:
 * the rows covering a window of days, the p95 from their duration histograms, and the figures
 * summed over them. Rates are percentages 0-100 with two decimals, null when there is nothing
 * to divide by.
 */

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
/** The milliseconds of histogram index `idx`, in SQL (durationBucketMiddleMs). */
export const P95_MS_SQL = (idx: SQL) =>
  sql`CASE WHEN ${idx} = 0 THEN 0 WHEN ${idx} IS NOT NULL THEN round(power(2::float8, (${idx} - 0.5) / ${sql.raw(String(DURATION_BUCKETS_PER_DOUBLING))}.0))::int END`;

/** `part` of `whole` in percent with two decimals; null when `whole` is 0. */
export const rate = (part: number, whole: number): number | null => (whole > 0 ? Math.round((10_000 * part) / whole) / 100 : null);

/** The start of a window of `days` in whole UTC hours, by the database clock. */
export const windowStart = (days: number) => sql`date_trunc('hour', now() - make_interval(days => ${days}::int), 'UTC')`;

/**
 * The rollup rows covering the last `days` (in whole UTC hours, by the database clock):
 * whole UTC days from cron_job_stats_daily, and the ragged first day's hours from
 * cron_job_stats_hourly. At most days + 23 rows per job.
 */
export function windowRows(days: number, jobFilter: SQL): SQL {
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
export const P95_CTE = sql`p95 AS (
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

/** The figures summed over a window's rollup rows, as the queries select them. */
export interface WindowRow {
  successes: DbNumber | null;
  failures: DbNumber | null;
  timed_out: DbNumber | null;
  abandoned: DbNumber | null;
  missed: DbNumber | null;
  avg_duration_ms: DbNumber | null;
  p95_duration_ms: DbNumber | null;
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

export function toWindowStats(r: WindowRow): WindowStats {
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
