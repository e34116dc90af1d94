import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { isoOrNull, jsonValue, num, numOrNull, type DbNumber, type DbTime } from "../rows";

/** One job as `crondeck jobs list` shows it: its config row, its lease and its last run (skips left out). */
export interface JobListRow {
  jobName: string;
  config: {
    enabled: boolean | null;
    paused: boolean;
    pausedReason: string | null;
    deadLettered: boolean;
    deadLetterReason: string | null;
    consecutiveFailures: number;
  } | null;
  lease: { runId: string; holder: string; expiresAt: string | null } | null;
  lastRun: {
    id: string;
    status: string;
    trigger: string;
    startedAt: string | null;
    completedAt: string | null;
    durationMs: number | null;
    error: string | null;
  } | null;
}

interface Row {
  job_name: string;
  has_config: boolean;
  enabled: boolean | null;
  paused: boolean | null;
  paused_reason: string | null;
  dead_lettered: boolean | null;
  dead_letter_reason: string | null;
  consecutive_failures: DbNumber | null;
  lease_run_id: string | null;
  lease_holder: string | null;
  lease_expires_at: DbTime | null;
  last_id: string | null;
  last_status: string | null;
  last_trigger: string | null;
  last_started_at: DbTime | null;
  last_completed_at: DbTime | null;
  last_duration_ms: DbNumber | null;
  last_error: string | null;
}

/** The named jobs' config, lease and last run, one row per name (in no particular order). */
export async function jobListRows(db: Db, jobNames: readonly string[]): Promise<JobListRow[]> {
  const rows = await queryRows<Row>(
    db,
    sql`SELECT n.name AS job_name, c.job_name IS NOT NULL AS has_config, c.enabled, c.paused, c.paused_reason, c.dead_lettered, c.dead_letter_reason, c.consecutive_failures,
               k.run_id AS lease_run_id, k.holder AS lease_holder, k.expires_at AS lease_expires_at,
               r.id AS last_id, r.status AS last_status, r.trigger AS last_trigger, r.started_at AS last_started_at,
               r.completed_at AS last_completed_at, r.duration_ms AS last_duration_ms, r.error_message AS last_error
        FROM jsonb_array_elements_text(${JSON.stringify(jobNames)}::jsonb) AS n(name)
        LEFT JOIN cron_job_config c ON c.job_name = n.name
        LEFT JOIN cron_job_leases k ON k.job_name = n.name
        LEFT JOIN LATERAL (
          SELECT id, status, trigger, started_at, completed_at, duration_ms, error_message FROM cron_job_logs l
          WHERE l.job_name = n.name AND l.status <> 'skipped' ORDER BY l.started_at DESC NULLS LAST LIMIT 1) r ON true`,
  );
  return rows.map((r) => ({
    jobName: r.job_name,
    config: r.has_config
      ? {
          enabled: r.enabled,
          paused: Boolean(r.paused),
          pausedReason: r.paused_reason,
          deadLettered: Boolean(r.dead_lettered),
          deadLetterReason: r.dead_letter_reason,
          consecutiveFailures: num(r.consecutive_failures),
        }
      : null,
    lease: r.lease_run_id ? { runId: r.lease_run_id, holder: r.lease_holder ?? "", expiresAt: isoOrNull(r.lease_expires_at) } : null,
    lastRun: r.last_id
      ? {
          id: r.last_id,
          status: r.last_status ?? "",
          trigger: r.last_trigger ?? "",
          startedAt: isoOrNull(r.last_started_at),
          completedAt: isoOrNull(r.last_completed_at),
          durationMs: numOrNull(r.last_duration_ms),
          error: r.last_error,
        }
      : null,
  }));
}

/** The lines a run's handler logged (ctx.log), oldest first. */
export async function runLogLines(db: Db, runId: string): Promise<Array<{ at: string; message: string }>> {
  const [row] = await queryRows<{ log_lines: unknown }>(db, sql`SELECT log_lines FROM cron_job_logs WHERE id = ${runId}::uuid`);
  return jsonValue<Array<{ at: string; message: string }>>(row?.log_lines) ?? [];
}
