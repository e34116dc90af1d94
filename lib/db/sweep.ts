import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";

export interface AbandonedRun {
  runId: string;
  jobName: string;
  holder: string;
  heldForSeconds: number;
  expiredSecondsAgo: number;
}

/** A lease that expired this long ago was not a slow heartbeat but a dead process. */
export const LONG_EXPIRED_SECONDS = 600;

/**
 * Frees expired leases and marks their runs abandoned, recording who held the lease, for
 * how long, and how long ago it expired. Also catches runs of overlap "allow" jobs, which
 * hold no job lease, by their own lease expiry. Uses the database clock.
 */
export async function sweepExpiredLeases(db: Db): Promise<AbandonedRun[]> {
  const rows = await queryRows<{ run_id: string; job_name: string; holder: string; held_s: number; expired_s: number }>(
    db,
    sql`WITH expired AS (
          DELETE FROM cron_job_leases k WHERE k.expires_at <= now()
          RETURNING k.run_id, k.job_name, k.holder, k.acquired_at, k.expires_at
        ), leased AS (
          UPDATE cron_job_logs l
             SET status = 'abandoned', completed_at = now(),
                 duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
                 error_message = format('abandoned: holder %s held the lease for %s and stopped heartbeating; it expired %s ago%s',
                   e.holder, date_trunc('second', e.expires_at - e.acquired_at), date_trunc('second', now() - e.expires_at),
                   CASE WHEN now() - e.expires_at > make_interval(secs => ${LONG_EXPIRED_SECONDS}) THEN ' (long ago: the process most likely crashed)' ELSE '' END)
            FROM expired e
           WHERE l.id = e.run_id AND l.status = 'started'
          RETURNING l.id AS run_id, l.job_name, e.holder,
                    extract(epoch FROM e.expires_at - e.acquired_at)::int AS held_s, extract(epoch FROM now() - e.expires_at)::int AS expired_s
        ), unleased AS (
          UPDATE cron_job_logs l
             SET status = 'abandoned', completed_at = now(),
                 duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
                 error_message = format('abandoned: holder %s stopped heartbeating; its lease expired %s ago', l.holder, date_trunc('second', now() - l.lease_expires_at))
           WHERE l.status = 'started' AND l.lease_expires_at <= now()
             AND NOT EXISTS (SELECT 1 FROM cron_job_leases k WHERE k.run_id = l.id)
             AND NOT EXISTS (SELECT 1 FROM expired e WHERE e.run_id = l.id)
          RETURNING l.id AS run_id, l.job_name, l.holder,
                    extract(epoch FROM l.lease_expires_at - l.started_at)::int AS held_s, extract(epoch FROM now() - l.lease_expires_at)::int AS expired_s
        )
        SELECT * FROM leased UNION ALL SELECT * FROM unleased`,
  );
  return rows.map((r) => ({ runId: r.run_id, jobName: r.job_name, holder: r.holder, heldForSeconds: Number(r.held_s), expiredSecondsAgo: Number(r.expired_s) }));
}
