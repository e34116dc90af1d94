import { sql } from "drizzle-orm";
import type { SlotRows, UpstreamSource } from "../../cron/dependencies";
import type { RunStatus } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { num, toDate, toDateOrNull, type DbNumber, type DbTime } from "../rows";

interface SlotRowsRow {
  job_name: string;
  slot: DbTime;
  rows: DbNumber;
  completed_at: DbTime | null;
  pending_since: DbTime | null;
  pending_status: RunStatus | null;
  failure_status: RunStatus | null;
  failure_at: DbTime | null;
  failure_error: string | null;
  skipped_upstream_failed: boolean | null;
  slot_claimed: boolean | null;
}

/**
 * The rows of many (job, slot) pairs summed up, in one statement over idx_cron_logs_job_slot
 * (job_name, scheduled_for): what job dependencies decide by (lib/cron/dependencies.ts). A
 * missed row with a catch-up queued counts as pending: the slot will still run.
 */
export class PostgresUpstreamSource implements UpstreamSource {
  constructor(private readonly db: Db) {}

  async slotRows(pairs: ReadonlyArray<{ jobName: string; slot: Date }>): Promise<SlotRows[]> {
    if (pairs.length === 0) return [];
    const wanted = JSON.stringify(pairs.map((p) => ({ job: p.jobName, slot: p.slot.toISOString() })));
    const rows = await queryRows<SlotRowsRow>(
      this.db,
      sql`WITH w AS (
            SELECT DISTINCT value->>'job' AS job_name, (value->>'slot')::timestamptz AS slot FROM jsonb_array_elements(${wanted}::jsonb)
          ),
          l AS (
            SELECT w.job_name, w.slot, r.status, r.started_at, r.completed_at, r.error_message, r.skip_reason, r.dedupe_key,
                   (r.status IN ('started', 'queued', 'retry_scheduled') OR (r.status = 'missed' AND r.next_retry_at IS NOT NULL)) AS pending
            FROM w LEFT JOIN cron_job_logs r ON r.job_name = w.job_name AND r.scheduled_for = w.slot
          )
          SELECT job_name, slot,
                 count(status) AS rows,
                 min(completed_at) FILTER (WHERE status = 'completed') AS completed_at,
                 min(started_at) FILTER (WHERE pending) AS pending_since,
                 (array_agg(status ORDER BY started_at) FILTER (WHERE pending))[1] AS pending_status,
                 (array_agg(status ORDER BY coalesce(completed_at, started_at) DESC) FILTER (WHERE status <> 'completed' AND NOT pending))[1] AS failure_status,
                 max(coalesce(completed_at, started_at)) FILTER (WHERE status <> 'completed' AND NOT pending) AS failure_at,
                 (array_agg(error_message ORDER BY coalesce(completed_at, started_at) DESC) FILTER (WHERE status <> 'completed' AND NOT pending))[1] AS failure_error,
                 bool_or(status = 'skipped' AND skip_reason = 'upstream_failed') AS skipped_upstream_failed,
                 bool_or(dedupe_key LIKE 'slot:%') AS slot_claimed
          FROM l GROUP BY job_name, slot`,
    );
    return rows.map((r) => ({
      jobName: r.job_name,
      slot: toDate(r.slot),
      rows: num(r.rows),
      completedAt: toDateOrNull(r.completed_at),
      pendingSince: toDateOrNull(r.pending_since),
      pendingStatus: r.pending_status,
      lastFailure: r.failure_status ? { status: r.failure_status, at: toDate(r.failure_at!), error: r.failure_error } : null,
      skippedUpstreamFailed: !!r.skipped_upstream_failed,
      slotClaimed: !!r.slot_claimed,
    }));
  }
}
