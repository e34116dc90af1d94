import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import type { JobKnowledge } from "../../cron/expected-slots";
import { numOrNull, num, toDateOrNull, type DbNumber, type DbTime } from "../rows";

/** What a job's expected slot left in the run log: the run first, then a missed row, then skips (`rows` counts them all). */
export interface SlotRecord {
  runId: string | null;
  status: string | null;
  skipReason: string | null;
  startedAt: Date | null;
  durationMs: number | null;
  errorMessage: string | null;
  nextRetryAt: Date | null;
  rows: number;
}

interface SlotRow {
  name: string;
  id: string | null;
  status: string | null;
  skip_reason: string | null;
  started_at: DbTime | null;
  duration_ms: DbNumber | null;
  error_message: string | null;
  next_retry_at: DbTime | null;
  rows: DbNumber;
}

/** For each (job, slot), the row that says most about it, by job name. */
export async function slotRecords(db: Db, wanted: ReadonlyArray<{ name: string; slot: Date }>): Promise<Map<string, SlotRecord>> {
  const rows = await queryRows<SlotRow>(
    db,
    sql`SELECT DISTINCT ON (s.name) s.name, l.id, l.status, l.skip_reason, l.started_at, l.duration_ms, l.error_message, l.next_retry_at,
               count(l.id) OVER (PARTITION BY s.name)::int AS rows
        FROM jsonb_to_recordset(${JSON.stringify(wanted.map((w) => ({ name: w.name, slot: w.slot.toISOString() })))}::jsonb) AS s(name text, slot timestamptz)
        LEFT JOIN cron_job_logs l ON l.job_name = s.name AND l.scheduled_for = s.slot
        ORDER BY s.name, CASE WHEN l.status IS NULL THEN 3 WHEN l.status NOT IN ('skipped', 'missed') THEN 0 WHEN l.status = 'missed' THEN 1 ELSE 2 END, l.started_at DESC`,
  );
  return new Map(
    rows.map((r) => [
      r.name,
      {
        runId: r.id,
        status: r.status,
        skipReason: r.skip_reason,
        startedAt: toDateOrNull(r.started_at),
        durationMs: numOrNull(r.duration_ms),
        errorMessage: r.error_message,
        nextRetryAt: toDateOrNull(r.next_retry_at),
        rows: num(r.rows),
      },
    ]),
  );
}

/**
 * What the database knows of when Crondeck first knew each job (lib/cron/expected-slots.ts):
 * the tick's missed-slot bookmark and the start of the job's first row. Jobs it knows nothing
 * of are absent.
 */
export async function jobKnowledge(db: Db, names: readonly string[]): Promise<Map<string, JobKnowledge>> {
  if (names.length === 0) return new Map();
  const rows = await queryRows<{ name: string; missed_checked_until: DbTime | null; first_run_at: DbTime | null }>(
    db,
    sql`SELECT s.name, c.missed_checked_until,
               (SELECT min(l.started_at) FROM cron_job_logs l WHERE l.job_name = s.name) AS first_run_at
        FROM jsonb_array_elements_text(${JSON.stringify(names)}::jsonb) AS s(name)
        LEFT JOIN cron_job_config c ON c.job_name = s.name`,
  );
  return new Map(rows.map((r) => [r.name, { missedCheckedUntil: toDateOrNull(r.missed_checked_until), firstRunAt: toDateOrNull(r.first_run_at) }]));
}
