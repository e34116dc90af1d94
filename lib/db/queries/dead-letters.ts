import { sql } from "drizzle-orm";
import type { Priority, RecoveryStatus } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, jsonValue, num, type DbNumber, type DbTime } from "../rows";

export interface DeadLetterEntry {
  id: string;
  runId: string;
  jobName: string;
  scheduledFor: string | null;
  failureReason: string;
  errorStack: string | null;
  attempts: number;
  recoveryStatus: RecoveryStatus;
  notes: string | null;
  assignedTo: string | null;
  priority: Priority;
  replayCount: number;
  lastReplayedAt: string | null;
  lastReplayRunId: string | null;
  resolvedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** The failed run's input (a dead letter's input is its run's); null: the job's default. */
  input: unknown;
}

/** The columns of cron_dead_letters as either driver returns them. */
export interface DeadLetterRow {
  id: string;
  run_id: string;
  job_name: string;
  scheduled_for: DbTime | null;
  failure_reason: string;
  error_stack: string | null;
  attempts: DbNumber;
  recovery_status: RecoveryStatus;
  notes: string | null;
  assigned_to: string | null;
  priority: Priority;
  replay_count: DbNumber;
  last_replayed_at: DbTime | null;
  last_replay_run_id: string | null;
  resolved_at: DbTime | null;
  created_at: DbTime;
  updated_at: DbTime;
  input: unknown;
}

export const DEAD_LETTER_COLUMNS = sql`id, run_id, job_name, scheduled_for, failure_reason, error_stack, attempts, recovery_status, notes, assigned_to,
  priority, replay_count, last_replayed_at, last_replay_run_id, resolved_at, created_at, updated_at,
  (SELECT l.input FROM cron_job_logs l WHERE l.id = cron_dead_letters.run_id) AS input`;

export function toDeadLetterEntry(r: DeadLetterRow): DeadLetterEntry {
  return {
    id: r.id,
    runId: r.run_id,
    jobName: r.job_name,
    scheduledFor: isoOrNull(r.scheduled_for),
    failureReason: r.failure_reason,
    errorStack: r.error_stack ?? null,
    attempts: num(r.attempts),
    recoveryStatus: r.recovery_status,
    notes: r.notes ?? null,
    assignedTo: r.assigned_to ?? null,
    priority: r.priority,
    replayCount: num(r.replay_count),
    lastReplayedAt: isoOrNull(r.last_replayed_at),
    lastReplayRunId: r.last_replay_run_id ?? null,
    resolvedAt: isoOrNull(r.resolved_at),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    input: jsonValue(r.input) ?? null,
  };
}

export async function listDeadLetters(db: Db, opts: { status?: RecoveryStatus; jobName?: string; limit: number; offset: number }): Promise<{ entries: DeadLetterEntry[]; total: number }> {
  const where = sql`WHERE (${opts.status ?? null}::text IS NULL OR recovery_status = ${opts.status ?? null})
    AND (${opts.jobName ?? null}::text IS NULL OR job_name = ${opts.jobName ?? null})`;
  const [rows, [{ total }]] = await Promise.all([
    queryRows<DeadLetterRow>(db, sql`SELECT ${DEAD_LETTER_COLUMNS} FROM cron_dead_letters ${where} ORDER BY created_at DESC, id LIMIT ${opts.limit} OFFSET ${opts.offset}`),
    queryRows<{ total: DbNumber }>(db, sql`SELECT count(*)::int AS total FROM cron_dead_letters ${where}`),
  ]);
  return { entries: rows.map(toDeadLetterEntry), total: num(total) };
}

export async function getDeadLetter(db: Db, id: string): Promise<DeadLetterEntry | null> {
  const [row] = await queryRows<DeadLetterRow>(db, sql`SELECT ${DEAD_LETTER_COLUMNS} FROM cron_dead_letters WHERE id = ${id}::uuid`);
  return row ? toDeadLetterEntry(row) : null;
}

/** How many entries stand in each recovery status, keyed by the status. */
export type DeadLetterSummary = Record<RecoveryStatus, number>;

/** The summary as the admin API's JSON shows it (camelCase keys): the dead-letter list and the statistics. */
export function summaryJson(s: DeadLetterSummary): { pending: number; replayed: number; resolved: number; permanentlyFailed: number } {
  return { pending: s.pending, replayed: s.replayed, resolved: s.resolved, permanentlyFailed: s.permanently_failed };
}

/** How many entries stand in each recovery status. */
export async function deadLetterSummary(db: Db): Promise<DeadLetterSummary> {
  const [row] = await queryRows<Record<keyof DeadLetterSummary, DbNumber>>(
    db,
    sql`SELECT count(*) FILTER (WHERE recovery_status = 'pending')::int AS pending,
               count(*) FILTER (WHERE recovery_status = 'replayed')::int AS replayed,
               count(*) FILTER (WHERE recovery_status = 'resolved')::int AS resolved,
               count(*) FILTER (WHERE recovery_status = 'permanently_failed')::int AS permanently_failed
        FROM cron_dead_letters`,
  );
  return { pending: num(row?.pending), replayed: num(row?.replayed), resolved: num(row?.resolved), permanently_failed: num(row?.permanently_failed) };
}
