import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";

export type RecoveryStatus = "pending" | "replayed" | "resolved" | "permanently_failed";
export type Priority = "low" | "normal" | "high" | "critical";

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
}

/** An operation on an entry that its state does not allow; `code` is stable for the API. */
export class DeadLetterError extends Error {
  constructor(
    readonly code: "dead_letter_not_found" | "not_pending" | "replay_limit_reached",
    message: string,
  ) {
    super(message);
  }
}

const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());

const COLUMNS = sql`id, run_id, job_name, scheduled_for, failure_reason, error_stack, attempts, recovery_status, notes, assigned_to,
  priority, replay_count, last_replayed_at, last_replay_run_id, resolved_at, created_at, updated_at`;

function toEntry(r: Record<string, unknown>): DeadLetterEntry {
  return {
    id: r.id as string,
    runId: r.run_id as string,
    jobName: r.job_name as string,
    scheduledFor: iso(r.scheduled_for),
    failureReason: r.failure_reason as string,
    errorStack: (r.error_stack as string | null) ?? null,
    attempts: Number(r.attempts),
    recoveryStatus: r.recovery_status as RecoveryStatus,
    notes: (r.notes as string | null) ?? null,
    assignedTo: (r.assigned_to as string | null) ?? null,
    priority: r.priority as Priority,
    replayCount: Number(r.replay_count),
    lastReplayedAt: iso(r.last_replayed_at),
    lastReplayRunId: (r.last_replay_run_id as string | null) ?? null,
    resolvedAt: iso(r.resolved_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

export async function listDeadLetters(db: Db, opts: { status?: RecoveryStatus; jobName?: string; limit: number; offset: number }) {
  const where = sql`WHERE (${opts.status ?? null}::text IS NULL OR recovery_status = ${opts.status ?? null})
    AND (${opts.jobName ?? null}::text IS NULL OR job_name = ${opts.jobName ?? null})`;
  const rows = await queryRows(db, sql`SELECT ${COLUMNS} FROM cron_dead_letters ${where} ORDER BY created_at DESC, id LIMIT ${opts.limit} OFFSET ${opts.offset}`);
  const [{ total }] = await queryRows<{ total: number }>(db, sql`SELECT count(*)::int AS total FROM cron_dead_letters ${where}`);
  return { entries: rows.map(toEntry), total };
}

export async function getDeadLetter(db: Db, id: string): Promise<DeadLetterEntry | null> {
  const [row] = await queryRows(db, sql`SELECT ${COLUMNS} FROM cron_dead_letters WHERE id = ${id}::uuid`);
  return row ? toEntry(row) : null;
}

/**
 * Counts a replay against the entry's limit and returns it, in one statement: two operators
 * replaying at once both count. Throws DeadLetterError when the entry is missing, settled,
 * or out of replays (a poison message stops here).
 */
export async function beginReplay(db: Db, id: string, replayLimit: number): Promise<DeadLetterEntry> {
  const [row] = await queryRows(
    db,
    sql`UPDATE cron_dead_letters SET replay_count = replay_count + 1, last_replayed_at = now(), updated_at = now()
        WHERE id = ${id}::uuid AND recovery_status = 'pending' AND replay_count < ${replayLimit}
        RETURNING ${COLUMNS}`,
  );
  if (row) return toEntry(row);
  const existing = await getDeadLetter(db, id);
  if (!existing) throw new DeadLetterError("dead_letter_not_found", `No dead-letter entry ${id}.`);
  if (existing.recoveryStatus !== "pending") throw new DeadLetterError("not_pending", `Entry ${id} is ${existing.recoveryStatus}; only pending entries can be replayed.`);
  throw new DeadLetterError("replay_limit_reached", `Entry ${id} was replayed ${existing.replayCount} times, the job's limit (${replayLimit}); mark it failed or raise deadLetter.replayLimit.`);
}

export async function markPermanentlyFailed(db: Db, id: string, reason: string, actor: string): Promise<DeadLetterEntry> {
  const [row] = await queryRows(
    db,
    sql`UPDATE cron_dead_letters
        SET recovery_status = 'permanently_failed', resolved_at = now(), updated_at = now(),
            notes = concat_ws(E'\n', notes, ${`[${new Date().toISOString()}] marked permanently failed by ${actor}: ${reason}`}::text)
        WHERE id = ${id}::uuid AND recovery_status = 'pending'
        RETURNING ${COLUMNS}`,
  );
  if (row) return toEntry(row);
  const existing = await getDeadLetter(db, id);
  if (!existing) throw new DeadLetterError("dead_letter_not_found", `No dead-letter entry ${id}.`);
  throw new DeadLetterError("not_pending", `Entry ${id} is already ${existing.recoveryStatus}.`);
}

export async function updateDeadLetterNotes(db: Db, id: string, patch: { notes?: string | null; assignedTo?: string | null; priority?: Priority }): Promise<DeadLetterEntry> {
  const [row] = await queryRows(
    db,
    sql`UPDATE cron_dead_letters SET
          notes = CASE WHEN ${patch.notes !== undefined} THEN ${patch.notes ?? null}::text ELSE notes END,
          assigned_to = CASE WHEN ${patch.assignedTo !== undefined} THEN ${patch.assignedTo ?? null}::text ELSE assigned_to END,
          priority = coalesce(${patch.priority ?? null}::text, priority),
          updated_at = now()
        WHERE id = ${id}::uuid RETURNING ${COLUMNS}`,
  );
  if (!row) throw new DeadLetterError("dead_letter_not_found", `No dead-letter entry ${id}.`);
  return toEntry(row);
}

/** Resumes a job paused by dead letters (or by hand) and resets its failure counters: the incident ends, the next failure starts a new one. */
export async function recoverJob(db: Db, jobName: string, actor: string): Promise<{ wasDeadLettered: boolean; wasPaused: boolean }> {
  const [row] = await queryRows<{ was_dead_lettered: boolean | null; was_paused: boolean | null }>(
    db,
    sql`WITH before AS (SELECT dead_lettered, paused FROM cron_job_config WHERE job_name = ${jobName})
        INSERT INTO cron_job_config AS c (job_name, enabled, last_modified_at, last_modified_by)
        VALUES (${jobName}, NULL, now(), ${actor})
        ON CONFLICT (job_name) DO UPDATE SET
          dead_lettered = false, dead_letter_reason = NULL, dead_lettered_since = NULL,
          paused = false, paused_reason = NULL, paused_at = NULL,
          consecutive_failures = 0, consecutive_dead_letters = 0, incident_id = NULL,
          last_modified_at = now(), last_modified_by = ${actor}
        RETURNING (SELECT dead_lettered FROM before) AS was_dead_lettered, (SELECT paused FROM before) AS was_paused`,
  );
  return { wasDeadLettered: Boolean(row?.was_dead_lettered), wasPaused: Boolean(row?.was_paused) };
}

export async function deadLetterSummary(db: Db) {
  const [row] = await queryRows<Record<RecoveryStatus, number>>(
    db,
    sql`SELECT count(*) FILTER (WHERE recovery_status = 'pending')::int AS pending,
               count(*) FILTER (WHERE recovery_status = 'replayed')::int AS replayed,
               count(*) FILTER (WHERE recovery_status = 'resolved')::int AS resolved,
               count(*) FILTER (WHERE recovery_status = 'permanently_failed')::int AS permanently_failed
        FROM cron_dead_letters`,
  );
  return row;
}
