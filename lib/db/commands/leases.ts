import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";

const num = (v: unknown): number => Number(v ?? 0);

export type ClearLockResult =
  | { cleared: true; jobName: string; runId: string; holder: string; wasStale: boolean; runAbandoned: boolean }
  | { cleared: false; reason: "not_found" }
  | { cleared: false; reason: "live"; expiresInSeconds: number; holder: string };

/**
 * Frees a job's lease and marks its run abandoned ("cleared by <actor>"), in one
 * statement. A live lease (not yet expired) is cleared only with `force`: its holder may
 * still be running, and will find out at its next heartbeat (the run is no longer
 * "started", so its fenced finish writes nothing).
 */
export async function clearLock(db: Db, jobName: string, actor: string, opts: { force?: boolean } = {}): Promise<ClearLockResult> {
  const force = Boolean(opts.force);
  const [row] = await queryRows<Record<string, unknown>>(
    db,
    sql`WITH gone AS (
          DELETE FROM cron_job_leases k WHERE k.job_name = ${jobName} AND (${force} OR k.expires_at <= now())
          RETURNING k.run_id, k.holder, k.acquired_at, k.expires_at
        ), run AS (
          UPDATE cron_job_logs l
             SET status = 'abandoned', completed_at = now(), lease_expires_at = NULL,
                 duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
                 error_message = format('cleared by %s: the lease of holder %s (taken %s ago) was %s', ${actor}::text, g.holder,
                   date_trunc('second', now() - g.acquired_at),
                   CASE WHEN g.expires_at <= now() THEN format('expired %s ago', date_trunc('second', now() - g.expires_at)) ELSE 'still live' END)
            FROM gone g
           WHERE l.id = g.run_id AND l.status = 'started'
          RETURNING l.id
        )
        SELECT g.run_id, g.holder, g.expires_at <= now() AS was_stale, EXISTS (SELECT 1 FROM run) AS run_abandoned, true AS cleared, 0 AS expires_in_s
        FROM gone g
        UNION ALL
        SELECT k.run_id, k.holder, false, false, false, floor(extract(epoch FROM k.expires_at - now()))::int FROM cron_job_leases k
        WHERE k.job_name = ${jobName} AND NOT EXISTS (SELECT 1 FROM gone)`,
  );
  // The UNION's second half reads the snapshot from before the DELETE: it shows the live
  // lease that stayed when nothing was deleted, and nothing when something was.
  if (!row) return { cleared: false, reason: "not_found" };
  if (!row.cleared) return { cleared: false, reason: "live", expiresInSeconds: num(row.expires_in_s), holder: row.holder as string };
  return { cleared: true, jobName, runId: row.run_id as string, holder: row.holder as string, wasStale: Boolean(row.was_stale), runAbandoned: Boolean(row.run_abandoned) };
}
