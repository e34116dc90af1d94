import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { iso, jsonValue, type DbTime } from "../rows";
import { configStateOf, type ConfigStateColumns, type JobConfigState } from "./jobs";
import { latestRunJson, toRunSummary, type RunSummary, type RunSummaryRow } from "./runs";

/** One job's runtime state as GET /api/cron/jobs/[jobName] shows it: config, the lease held now, the latest run. */
export interface JobDetail extends JobConfigState {
  /** The job's lease, when a run holds it. */
  running: { runId: string; holder: string; acquiredAt: string; leaseExpiresAt: string } | null;
  /** The newest row of any status. */
  lastRun: RunSummary | null;
}

interface JobDetailRow extends ConfigStateColumns {
  /** The lease columns are null together (no lease) or not at all. */
  lease_run_id: string | null;
  lease_holder: string;
  lease_acquired_at: DbTime;
  lease_expires_at: DbTime;
  /** row_to_json of the latest run: its timestamps arrive as text. */
  last_run: RunSummaryRow | string | null;
}

/** A job's state in one query; without a config row, the code's default (`enabledByDefault`) applies. */
export async function jobDetail(db: Db, jobName: string, enabledByDefault: boolean): Promise<JobDetail> {
  const [r] = await queryRows<JobDetailRow>(
    db,
    sql`SELECT
          c.enabled, c.paused, c.paused_reason, c.paused_at, c.consecutive_failures, c.dead_lettered, c.dead_letter_reason, c.dead_lettered_since,
          k.run_id AS lease_run_id, k.holder AS lease_holder, k.acquired_at AS lease_acquired_at, k.expires_at AS lease_expires_at,
          ${latestRunJson(jobName)} AS last_run
        FROM (SELECT 1) one
        LEFT JOIN cron_job_config c ON c.job_name = ${jobName}
        LEFT JOIN cron_job_leases k ON k.job_name = ${jobName}`,
  );
  const last = jsonValue<RunSummaryRow>(r.last_run);
  return {
    ...configStateOf(r, enabledByDefault),
    running: r.lease_run_id ? { runId: r.lease_run_id, holder: r.lease_holder, acquiredAt: iso(r.lease_acquired_at), leaseExpiresAt: iso(r.lease_expires_at) } : null,
    lastRun: last ? toRunSummary(last) : null,
  };
}
