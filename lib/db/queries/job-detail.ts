import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import type { JobDefinition } from "../../cron/define-job";
import { jobMonitorSettings, type JobMonitorSettings, type MonitorSettings } from "../../monitors/policy";
import { iso, isoOrNull, jsonValue, type DbTime } from "../rows";
import { configStateOf, type ConfigStateColumns, type JobConfigState } from "./jobs";
import { latestRunJson, toRunSummary, type RunSummary, type RunSummaryRow } from "./runs";

/** One job's runtime state as GET /api/cron/jobs/[jobName] shows it: config, the lease held now, the latest run. */
export interface JobDetail extends JobConfigState {
  /** The job's lease, when a run holds it. */
  running: { runId: string; holder: string; acquiredAt: string; leaseExpiresAt: string } | null;
  /** The newest row of any status. */
  lastRun: RunSummary | null;
  /** The job's open monitors (late, threshold monitors, a stale lease), oldest first. */
  openMonitors: OpenJobMonitor[];
}

/** An open monitor as the API and the dashboard show it. */
export interface OpenJobMonitor {
  kind: string;
  incidentId: string;
  openedAt: string;
  checkedAt: string;
  /** The last alert of this incident; null: none delivered yet. */
  alertedAt: string | null;
  /** The measured value when last checked: a percent for the rates, a count of late slots, seconds for a stale lease. */
  value: number | null;
  detail: Record<string, unknown> | null;
}

interface MonitorJsonRow {
  kind: string;
  incident_id: string;
  opened_at: DbTime;
  checked_at: DbTime;
  alerted_at: DbTime | null;
  value: number | null;
  detail: Record<string, unknown> | null;
}

const monitorsJson = (jobName: string) =>
  sql`(SELECT coalesce(json_agg(json_build_object('kind', m.kind, 'incident_id', m.incident_id, 'opened_at', m.opened_at, 'checked_at', m.checked_at,
                                                 'alerted_at', m.alerted_at, 'value', m.value, 'detail', m.detail) ORDER BY m.opened_at, m.kind), '[]'::json)
         FROM cron_monitors m WHERE m.job_name = ${jobName})`;

function openMonitorsOf(value: unknown): OpenJobMonitor[] {
  return (jsonValue<MonitorJsonRow[]>(value) ?? []).map((m) => ({
    kind: m.kind,
    incidentId: m.incident_id,
    openedAt: iso(m.opened_at),
    checkedAt: iso(m.checked_at),
    alertedAt: isoOrNull(m.alerted_at),
    value: m.value === null ? null : Number(m.value),
    detail: m.detail,
  }));
}

interface JobDetailRow extends ConfigStateColumns {
  /** The lease columns are null together (no lease) or not at all. */
  lease_run_id: string | null;
  lease_holder: string;
  lease_acquired_at: DbTime;
  lease_expires_at: DbTime;
  /** row_to_json of the latest run: its timestamps arrive as text. */
  last_run: RunSummaryRow | string | null;
  monitors: unknown;
}

/** A job's state in one query; without a config row, the code's default (`enabledByDefault`) applies. */
export async function jobDetail(db: Db, jobName: string, enabledByDefault: boolean): Promise<JobDetail> {
  const [r] = await queryRows<JobDetailRow>(
    db,
    sql`SELECT
          c.enabled, c.paused, c.paused_reason, c.paused_at, c.consecutive_failures, c.dead_lettered, c.dead_letter_reason, c.dead_lettered_since,
          c.snoozed_until, c.snooze_reason, c.snoozed_by, c.skip_slots, c.skip_requested_by,
          k.run_id AS lease_run_id, k.holder AS lease_holder, k.acquired_at AS lease_acquired_at, k.expires_at AS lease_expires_at,
          ${latestRunJson(jobName)} AS last_run,
          ${monitorsJson(jobName)} AS monitors
        FROM (SELECT 1) one
        LEFT JOIN cron_job_config c ON c.job_name = ${jobName}
        LEFT JOIN cron_job_leases k ON k.job_name = ${jobName}`,
  );
  const last = jsonValue<RunSummaryRow>(r.last_run);
  return {
    ...configStateOf(r, enabledByDefault),
    running: r.lease_run_id ? { runId: r.lease_run_id, holder: r.lease_holder, acquiredAt: iso(r.lease_acquired_at), leaseExpiresAt: iso(r.lease_expires_at) } : null,
    lastRun: last ? toRunSummary(last) : null,
    openMonitors: openMonitorsOf(r.monitors),
  };
}

/** A job's monitoring as shown beside it: every effective setting (with the code's value and the environment's default) and its open monitors. */
export interface JobMonitoring {
  settings: JobMonitorSettings;
  open: OpenJobMonitor[];
}

/** The job's monitoring in one query; `graceMs` is the plan's delivery grace (the default late margin). */
export async function jobMonitoring(db: Db, job: Pick<JobDefinition, "name" | "alerts" | "timeoutMs">, graceMs: number, settings: MonitorSettings): Promise<JobMonitoring> {
  const [r] = await queryRows<{ monitors: unknown }>(db, sql`SELECT ${monitorsJson(job.name)} AS monitors`);
  return { settings: jobMonitorSettings(job, graceMs, settings), open: openMonitorsOf(r?.monitors) };
}
