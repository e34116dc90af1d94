import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { LEASE_STALE_SQL, runningJobs, type RunningJob } from "./runs";

/**
 * What the dashboard polls instead of the overview: a change token that moves whenever something
 * the overview or the dead-letter page shows has changed, and the running runs (the running
 * banner shows them on every answer). The pages re-render when the token moves, so a poll costs
 * index probes, not the overview's aggregates.
 *
 * The token is md5 over, in order:
 *   1. the running runs (status started, idx_cron_logs_running) with whether each is stale
 *      (LEASE_STALE_SQL): a run starts; it finishes, fails, times out, is replaced, deferred to
 *      a retry or abandoned (it leaves started); its lease expires (time decides: no write).
 *   2. the newest started_at (idx_cron_logs_started_at, one entry) and how many rows started in
 *      the 10 s before it (a range of that index anchored at the newest row, not at now(), so it
 *      only moves on an insert). Every row is inserted with started_at = now(): runs, skips
 *      (crondeck_record_skip) and missed rows (recordMissedSlots writes now(), not the slot, which
 *      is scheduled_for), so each insert moves the newest or, if its transaction began a moment
 *      before a row already seen (now() is the transaction's start), the count behind it. A run
 *      that started and finished between two polls moves the newest started_at too.
 *   3. pending dead letters (idx_cron_dlq_pending_job, index only) and the newest entry's
 *      created_at (idx_cron_dlq_created): a new dead letter; a replay that succeeded, a resolve
 *      or a mark-failed (it leaves pending).
 *   4. the newest audit row (its identity key): every operator action, from the dashboard, the
 *      API or the CLI (a replay counted, notes, priority, pause, resume, enable, snooze, overrides,
 *      a lease cleared), by this operator or another.
 *   5. the newest cron_job_config.last_modified_at: every change of a job's state, by an operator
 *      or by the engine (a job paused by its dead letters). Not the tick's bookmarks
 *      (missed_checked_until, late_checked_until), which move every minute and show nothing.
 *      cron_job_config has one row per job (hundreds, not millions) and no index on that column:
 *      this part reads the table (a few pages).
 * Heartbeats (attempts, log lines, the lease extended) do not move it: the running banner shows
 * them from `runningJobs`, so a page does not re-render every heartbeat.
 */

export interface Changes {
  /** 32 hex characters: equal tokens mean nothing the pages show has changed. */
  token: string;
  runningJobs: RunningJob[];
}

/** The change token alone (see the module's comment for what moves it). */
export async function changeToken(db: Db): Promise<string> {
  const [row] = await queryRows<{ token: string }>(
    db,
    sql`SELECT md5(json_build_array(
          (SELECT string_agg(r.id::text || CASE WHEN ${LEASE_STALE_SQL} THEN ':stale' ELSE '' END, ',' ORDER BY r.id)
             FROM running_cron_jobs r LEFT JOIN cron_job_leases k ON k.run_id = r.id),
          n.at,
          (SELECT count(*) FROM cron_job_logs l WHERE l.started_at >= n.at - interval '10 seconds'),
          (SELECT count(*) FROM cron_dead_letters d WHERE d.recovery_status = 'pending'),
          (SELECT max(d.created_at) FROM cron_dead_letters d),
          (SELECT max(a.id) FROM cron_audit_log a),
          (SELECT max(c.last_modified_at) FROM cron_job_config c)
        )::text) AS token
        FROM (SELECT max(l.started_at) AS at FROM cron_job_logs l) n`,
  );
  return row.token;
}

/** The token and the running runs, read side by side (two short statements, no transaction: a change between them moves the next token). */
export async function changes(db: Db): Promise<Changes> {
  const [token, running] = await Promise.all([changeToken(db), runningJobs(db)]);
  return { token, runningJobs: running };
}
