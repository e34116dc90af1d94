import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { num, numOrNull, type DbNumber } from "../rows";

/** What a job's recent completed runs took: how many were compared and their p95. */
export interface DurationBaseline {
  /** Completed runs in the window (at most the window's size). */
  runs: number;
  /** The exact 95th percentile of their durations (percentile_cont, interpolated), ms; null without runs. */
  p95Ms: number | null;
}

/**
 * The p95 duration of a job's last `window` completed runs that started before `before` (the run
 * being judged started then, so it is never its own baseline). Only `completed` runs count: a
 * failed, timed-out, abandoned or replaced run did not finish its work, and its duration (a
 * timeout, a lease expiry) says nothing about how long the work takes.
 *
 * One round trip, answered from idx_cron_logs_job_completed (drizzle/0012_dead_letter_insight.sql:
 * a partial index on completed runs that includes duration_ms), so it reads `window` index
 * entries whatever else the job's log holds.
 */
export async function durationBaseline(db: Db, opts: { jobName: string; before: Date; window: number }): Promise<DurationBaseline> {
  const [row] = await queryRows<{ runs: DbNumber; p95_ms: DbNumber | null }>(
    db,
    sql`SELECT count(*)::int AS runs, percentile_cont(0.95) WITHIN GROUP (ORDER BY recent.duration_ms)::float8 AS p95_ms
          FROM (SELECT l.duration_ms FROM cron_job_logs l
                 WHERE l.job_name = ${opts.jobName} AND l.status = 'completed'
                   AND l.started_at < ${opts.before.toISOString()}::timestamptz AND l.duration_ms IS NOT NULL
                 ORDER BY l.started_at DESC
                 LIMIT ${opts.window}) recent`,
  );
  return { runs: num(row?.runs), p95Ms: numOrNull(row?.p95_ms) };
}
