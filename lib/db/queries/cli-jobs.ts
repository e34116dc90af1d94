import { sql } from "drizzle-orm";
import type { JobDefinition } from "../../cron/define-job";
import { queryRows, type Db } from "../client";
import { isoOrNull, jsonValue, numOrNull, type DbNumber, type DbTime } from "../rows";
import { configStateOf, type ConfigStateColumns, type JobConfigState } from "./jobs";

/** One job as `crondeck jobs list` shows it: its state (configStateOf), its lease and its last run (skips left out). */
export interface JobListRow {
  jobName: string;
  state: JobConfigState;
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

interface Row extends ConfigStateColumns {
  job_name: string;
  enabled_default: boolean;
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

/** The jobs' state, lease and last run, one row per job (in no particular order). */
export async function jobListRows(db: Db, jobs: readonly Pick<JobDefinition, "name" | "enabled">[]): Promise<JobListRow[]> {
  const rows = await queryRows<Row>(
    db,
    sql`SELECT n.name AS job_name, n.enabled_default, c.enabled, c.paused, c.paused_reason, c.paused_at, c.dead_lettered, c.dead_letter_reason, c.dead_lettered_since, c.consecutive_failures,
               c.snoozed_until, c.snooze_reason, c.snoozed_by, c.skip_slots, c.skip_requested_by,
               k.run_id AS lease_run_id, k.holder AS lease_holder, k.expires_at AS lease_expires_at,
               r.id AS last_id, r.status AS last_status, r.trigger AS last_trigger, r.started_at AS last_started_at,
               r.completed_at AS last_completed_at, r.duration_ms AS last_duration_ms, r.error_message AS last_error
        FROM jsonb_to_recordset(${JSON.stringify(jobs.map((j) => ({ name: j.name, enabled_default: j.enabled })))}::jsonb) AS n(name text, enabled_default boolean)
        LEFT JOIN cron_job_config c ON c.job_name = n.name
        LEFT JOIN cron_job_leases k ON k.job_name = n.name
        LEFT JOIN LATERAL (
          SELECT id, status, trigger, started_at, completed_at, duration_ms, error_message FROM cron_job_logs l
          WHERE l.job_name = n.name AND l.status <> 'skipped' ORDER BY l.started_at DESC NULLS LAST LIMIT 1) r ON true`,
  );
  return rows.map((r) => ({
    jobName: r.job_name,
    // A job without a config row reads as nulls here: configStateOf gives the code's default.
    state: configStateOf(r, Boolean(r.enabled_default)),
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
