import { sql, type SQL } from "drizzle-orm";
import type { Backfill, SlotRun } from "../../backfill/store";
import type { BackfillOverlap, BackfillStatus, RunStatus, RunTrigger, SkipReason } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { num, toDate, toDateOrNull, type DbNumber, type DbTime } from "../rows";

/** A backfill's columns, slots as JSON (the drivers differ on timestamptz[]). */
export const BACKFILL_COLUMNS: SQL = sql.raw(
  `id, job_name, range_from, range_to, overlap, array_to_json(slots) AS slots, input, next_index, ran, completed, failed, skipped, status, error,
   last_run_id, actor, cancel_requested_at, cancelled_by, runner_holder, runner_expires_at, created_at, updated_at, finished_at`,
);

export interface BackfillRow {
  id: string;
  job_name: string;
  range_from: DbTime;
  range_to: DbTime;
  overlap: BackfillOverlap;
  slots: string[] | string;
  input: unknown;
  next_index: DbNumber;
  ran: DbNumber;
  completed: DbNumber;
  failed: DbNumber;
  skipped: DbNumber;
  status: BackfillStatus;
  error: string | null;
  last_run_id: string | null;
  actor: string;
  cancel_requested_at: DbTime | null;
  cancelled_by: string | null;
  runner_holder: string | null;
  runner_expires_at: DbTime | null;
  created_at: DbTime;
  updated_at: DbTime;
  finished_at: DbTime | null;
}

export function toBackfill(r: BackfillRow): Backfill {
  const slots = typeof r.slots === "string" ? (JSON.parse(r.slots) as string[]) : r.slots;
  return {
    id: r.id,
    jobName: r.job_name,
    from: toDate(r.range_from),
    to: toDate(r.range_to),
    overlap: r.overlap,
    slots: slots.map((s) => new Date(s)),
    input: r.input ?? null,
    nextIndex: num(r.next_index),
    ran: num(r.ran),
    completed: num(r.completed),
    failed: num(r.failed),
    skipped: num(r.skipped),
    status: r.status,
    error: r.error,
    lastRunId: r.last_run_id,
    actor: r.actor,
    cancelRequestedAt: toDateOrNull(r.cancel_requested_at),
    cancelledBy: r.cancelled_by,
    runnerHolder: r.runner_holder,
    runnerExpiresAt: toDateOrNull(r.runner_expires_at),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    finishedAt: toDateOrNull(r.finished_at),
  };
}

export async function backfillById(db: Db, id: string): Promise<Backfill | null> {
  const [row] = await queryRows<BackfillRow>(db, sql`SELECT ${BACKFILL_COLUMNS} FROM cron_backfills WHERE id = ${id}`);
  return row ? toBackfill(row) : null;
}

/** A job's backfills, newest first. */
export async function backfillsOfJob(db: Db, jobName: string, limit = 20): Promise<Backfill[]> {
  const rows = await queryRows<BackfillRow>(db, sql`SELECT ${BACKFILL_COLUMNS} FROM cron_backfills WHERE job_name = ${jobName} ORDER BY created_at DESC, id LIMIT ${limit}`);
  return rows.map(toBackfill);
}

/** The job's running backfill, if any (at most one: cron_backfills_one_running). */
export async function runningBackfillOf(db: Db, jobName: string): Promise<Backfill | null> {
  const [row] = await queryRows<BackfillRow>(db, sql`SELECT ${BACKFILL_COLUMNS} FROM cron_backfills WHERE job_name = ${jobName} AND status = 'running'`);
  return row ? toBackfill(row) : null;
}

/**
 * Per slot, its run: the row keyed `slot:<iso>` when there is one (uq_cron_logs_job_slot), else
 * the newest row scheduled for it (a skip before any claim, an overlap-all backfill's run).
 */
export async function slotRunsOf(db: Db, jobName: string, slots: readonly Date[]): Promise<Map<string, SlotRun>> {
  const found = new Map<string, SlotRun>();
  if (slots.length === 0) return found;
  const rows = await queryRows<{ id: string; status: RunStatus; trigger: RunTrigger; skip_reason: SkipReason | null; scheduled_for: DbTime; taken: boolean }>(
    db,
    sql`SELECT DISTINCT ON (l.scheduled_for) l.id, l.status, l.trigger, l.skip_reason, l.scheduled_for, coalesce(l.dedupe_key LIKE 'slot:%', false) AS taken
        FROM cron_job_logs l
        WHERE l.job_name = ${jobName}
          AND l.scheduled_for IN (SELECT value::timestamptz FROM jsonb_array_elements_text(${JSON.stringify(slots.map((s) => s.toISOString()))}::jsonb))
        ORDER BY l.scheduled_for, coalesce(l.dedupe_key LIKE 'slot:%', false) DESC, l.started_at DESC NULLS LAST`,
  );
  for (const r of rows) found.set(toDate(r.scheduled_for).toISOString(), { runId: r.id, status: r.status, trigger: r.trigger, skipReason: r.skip_reason, taken: r.taken });
  return found;
}

export async function runByDedupeKey(db: Db, jobName: string, dedupeKey: string): Promise<{ runId: string; status: RunStatus } | null> {
  const [row] = await queryRows<{ id: string; status: RunStatus }>(db, sql`SELECT id, status FROM cron_job_logs WHERE job_name = ${jobName} AND dedupe_key = ${dedupeKey}`);
  return row ? { runId: row.id, status: row.status } : null;
}

/** Running backfills whose runner lease is free or expired (by the database clock), oldest first. */
export async function resumableBackfills(db: Db, limit: number): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`SELECT id FROM cron_backfills WHERE status = 'running' AND (runner_holder IS NULL OR runner_expires_at <= now()) ORDER BY created_at, id LIMIT ${limit}`,
  );
  return rows.map((r) => r.id);
}
