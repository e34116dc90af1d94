import { sql, type SQL } from "drizzle-orm";
import { PRIORITIES, type Priority, type RecoveryStatus } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, jsonValue, num, type DbNumber, type DbTime } from "../rows";
import { escapeLike } from "./params";

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

/**
 * Which entries a list or a bulk action takes: every field narrows (absent or null: any). The
 * URL of the dead-letter page and the admin API's query and bulk body carry the same fields.
 */
export interface DeadLetterSelection {
  status?: RecoveryStatus | null;
  jobName?: string | null;
  /** Case-insensitive substring of the failure reason. */
  reason?: string | null;
  /** Created at or after `from`, before `to`. */
  from?: Date | null;
  to?: Date | null;
  priority?: Priority | null;
  /** These entries only. */
  ids?: readonly string[] | null;
}

/** The entries' order: newest first, or by priority (critical first), oldest first within one. */
export const DEAD_LETTER_SORTS = ["newest", "priority"] as const;
export type DeadLetterSort = (typeof DEAD_LETTER_SORTS)[number];

/** A priority's rank, critical highest (the order of PRIORITIES). */
const PRIORITY_RANK = sql.raw(`array_position(ARRAY[${PRIORITIES.map((p) => `'${p}'`).join(", ")}]::text[], priority)`);

/** The WHERE clause of a selection (over cron_dead_letters unaliased); the ids go as one JSON parameter. */
export function selectionWhere(sel: DeadLetterSelection): SQL {
  const reason = sel.reason ? `%${escapeLike(sel.reason)}%` : null;
  const ids = sel.ids ? JSON.stringify(sel.ids) : null;
  return sql`WHERE (${sel.status ?? null}::text IS NULL OR recovery_status = ${sel.status ?? null})
    AND (${sel.jobName ?? null}::text IS NULL OR job_name = ${sel.jobName ?? null})
    AND (${reason}::text IS NULL OR failure_reason ILIKE ${reason})
    AND (${sel.from?.toISOString() ?? null}::timestamptz IS NULL OR created_at >= ${sel.from?.toISOString() ?? null}::timestamptz)
    AND (${sel.to?.toISOString() ?? null}::timestamptz IS NULL OR created_at < ${sel.to?.toISOString() ?? null}::timestamptz)
    AND (${sel.priority ?? null}::text IS NULL OR priority = ${sel.priority ?? null})
    AND (${ids}::jsonb IS NULL OR id IN (SELECT (jsonb_array_elements_text(${ids}::jsonb))::uuid))`;
}

/** The ORDER BY of a sort (ties by id, so pages are stable). */
export function selectionOrder(sort: DeadLetterSort = "newest"): SQL {
  return sort === "priority" ? sql`ORDER BY ${PRIORITY_RANK} DESC, created_at ASC, id` : sql`ORDER BY created_at DESC, id`;
}

export async function listDeadLetters(
  db: Db,
  opts: DeadLetterSelection & { sort?: DeadLetterSort; limit: number; offset: number },
): Promise<{ entries: DeadLetterEntry[]; total: number; jobs: Record<string, number> }> {
  const where = selectionWhere(opts);
  const [rows, counts] = await Promise.all([
    queryRows<DeadLetterRow>(db, sql`SELECT ${DEAD_LETTER_COLUMNS} FROM cron_dead_letters ${where} ${selectionOrder(opts.sort)} LIMIT ${opts.limit} OFFSET ${opts.offset}`),
    queryRows<{ job_name: string; n: DbNumber }>(db, sql`SELECT job_name, count(*)::int AS n FROM cron_dead_letters ${where} GROUP BY job_name ORDER BY job_name`),
  ]);
  const jobs = Object.fromEntries(counts.map((c) => [c.job_name, num(c.n)]));
  return { entries: rows.map(toDeadLetterEntry), total: Object.values(jobs).reduce((a, b) => a + b, 0), jobs };
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
