import { sql } from "drizzle-orm";
import type { RunStatus, RunTrigger } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, num, type DbNumber, type DbTime } from "../rows";

/** The job leases as the locks page, GET /api/admin/locks and `crondeck locks` show them. */
export interface LockInfo {
  jobName: string;
  runId: string;
  fencingToken: number;
  holder: string;
  acquiredAt: string;
  expiresAt: string;
  /** Seconds until the lease expires by the database clock; negative once it has. */
  expiresInSeconds: number;
  /** Expired: no confirmed heartbeat in time (the holder crashed, froze or lost the database). */
  stale: boolean;
  heldSeconds: number;
  run: { status: RunStatus | null; trigger: RunTrigger | null; startedAt: string | null; scheduledFor: string | null } | null;
}

interface LockRow {
  job_name: string;
  run_id: string;
  fencing_token: DbNumber;
  holder: string;
  acquired_at: DbTime;
  expires_at: DbTime;
  expires_in_s: DbNumber;
  held_s: DbNumber;
  stale: boolean;
  run_found: string | null;
  run_status: RunStatus | null;
  run_trigger: RunTrigger | null;
  run_started_at: DbTime | null;
  run_scheduled_for: DbTime | null;
}

/** Every job lease, oldest first. */
export async function locks(db: Db): Promise<LockInfo[]> {
  const rows = await queryRows<LockRow>(
    db,
    sql`SELECT k.job_name, k.run_id, k.fencing_token, k.holder, k.acquired_at, k.expires_at,
               floor(extract(epoch FROM k.expires_at - now()))::int AS expires_in_s,
               floor(extract(epoch FROM now() - k.acquired_at))::int AS held_s,
               k.expires_at <= now() AS stale,
               l.id AS run_found, l.status AS run_status, l.trigger AS run_trigger, l.started_at AS run_started_at,
               l.scheduled_for AS run_scheduled_for
        FROM cron_job_leases k LEFT JOIN cron_job_logs l ON l.id = k.run_id
        ORDER BY k.acquired_at ASC, k.job_name ASC`,
  );
  return rows.map((r) => ({
    jobName: r.job_name,
    runId: r.run_id,
    fencingToken: num(r.fencing_token),
    holder: r.holder,
    acquiredAt: iso(r.acquired_at),
    expiresAt: iso(r.expires_at),
    expiresInSeconds: num(r.expires_in_s),
    stale: Boolean(r.stale),
    heldSeconds: num(r.held_s),
    run: r.run_found
      ? { status: r.run_status, trigger: r.run_trigger, startedAt: isoOrNull(r.run_started_at), scheduledFor: isoOrNull(r.run_scheduled_for) }
      : null,
  }));
}
