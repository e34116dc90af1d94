import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { iso, num, type DbNumber, type DbTime } from "../rows";

export interface FrequentTimeouts {
  jobName: string;
  timeouts: number;
  lastTimeoutAt: string;
}

/** Jobs that timed out at least `atLeast` times in the last `days` days, most first. */
export async function frequentTimeouts(db: Db, opts: { days: number; atLeast: number }): Promise<FrequentTimeouts[]> {
  const rows = await queryRows<{ job_name: string; timeouts: DbNumber; last_timeout_at: DbTime }>(
    db,
    sql`SELECT job_name, count(*)::int AS timeouts, max(coalesce(completed_at, started_at)) AS last_timeout_at
        FROM cron_job_logs WHERE status = 'timed_out' AND started_at > now() - make_interval(days => ${opts.days}::int)
        GROUP BY job_name HAVING count(*) >= ${opts.atLeast} ORDER BY count(*) DESC, job_name`,
  );
  return rows.map((r) => ({ jobName: r.job_name, timeouts: num(r.timeouts), lastTimeoutAt: iso(r.last_timeout_at) }));
}
