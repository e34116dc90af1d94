import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, type DbTime } from "../rows";

/** A skip recorded for a snooze or a skip-next, as the job page lists them. */
export interface SnoozeSkip {
  id: string;
  /** The slot skipped (null: a trigger without one, during a snooze). */
  slot: string | null;
  reason: "snoozed" | "skip_requested";
  /** The operator who asked for the snooze or the skip. */
  actor: string | null;
  trigger: string;
  at: string;
}

/** The job's latest skips for a snooze or a skip-next, newest first (idx_cron_logs_job_started). */
export async function recentSnoozeSkips(db: Db, jobName: string, limit = 10): Promise<SnoozeSkip[]> {
  const rows = await queryRows<{ id: string; scheduled_for: DbTime | null; skip_reason: SnoozeSkip["reason"]; actor: string | null; trigger: string; started_at: DbTime }>(
    db,
    sql`SELECT id, scheduled_for, skip_reason, actor, trigger, started_at FROM cron_job_logs
        WHERE job_name = ${jobName} AND status = 'skipped' AND skip_reason IN ('snoozed', 'skip_requested')
        ORDER BY started_at DESC NULLS LAST LIMIT ${limit}`,
  );
  return rows.map((r) => ({ id: r.id, slot: isoOrNull(r.scheduled_for), reason: r.skip_reason, actor: r.actor, trigger: r.trigger, at: iso(r.started_at) }));
}
