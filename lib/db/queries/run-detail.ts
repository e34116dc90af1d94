import { sql } from "drizzle-orm";
import type { RecoveryStatus, RunStatus, SkipReason } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, jsonValue, numOrNull, type DbNumber, type DbTime } from "../rows";
import { toRunSummary, type HistoryRun, type RunSummaryRow } from "./runs";

/** One run with every column, as the run page and GET /api/admin/runs/[id] show it. */
export interface RunDetail extends HistoryRun {
  jobName: string;
  createdAt: string | null;
  dedupeKey: string | null;
  fencingToken: number | null;
  leaseExpiresAt: string | null;
  errorStack: string | null;
  output: unknown;
  /** The input the run was asked for (run-now, replay, backfill); null: the job's default input. */
  input: unknown;
  logLines: Array<{ at: string; message: string; data?: Record<string, unknown> }>;
  attemptDetails: Array<{ attempt: number; startedAt: string; durationMs: number; error?: string; timedOut?: boolean; leaseLost?: boolean; replaced?: boolean }>;
  codeVersion: string | null;
  cancelRequestedAt: string | null;
  nextRetryAt: string | null;
  /** Replays of this run, newest first. */
  replays: Array<{ id: string; status: RunStatus; startedAt: string }>;
  deadLetter: { id: string; recoveryStatus: RecoveryStatus; replayCount: number } | null;
}

interface RunDetailRow extends RunSummaryRow {
  job_name: string;
  actor: string | null;
  replay_of: string | null;
  holder: string | null;
  created_at: DbTime | null;
  dedupe_key: string | null;
  fencing_token: DbNumber | null;
  lease_expires_at: DbTime | null;
  error_stack: string | null;
  output: unknown;
  input: unknown;
  log_lines: unknown;
  attempt_details: unknown;
  code_version: string | null;
  cancel_requested_at: DbTime | null;
  next_retry_at: DbTime | null;
  /** json_agg: timestamps as text. */
  replays: unknown;
  dead_letter: unknown;
}

/** One run with every column: attempts, log lines, error and stack, output. Null when there is no such run. */
export async function getRun(db: Db, id: string): Promise<RunDetail | null> {
  const [r] = await queryRows<RunDetailRow>(
    db,
    sql`SELECT l.*,
               (SELECT coalesce(json_agg(json_build_object('id', x.id, 'status', x.status, 'startedAt', x.started_at) ORDER BY x.started_at DESC), '[]'::json)
                  FROM cron_job_logs x WHERE x.replay_of = l.id) AS replays,
               (SELECT json_build_object('id', d.id, 'recoveryStatus', d.recovery_status, 'replayCount', d.replay_count)
                  FROM cron_dead_letters d WHERE d.run_id = l.id) AS dead_letter
        FROM cron_job_logs l WHERE l.id = ${id}::uuid`,
  );
  if (!r) return null;
  const replays = jsonValue<RunDetail["replays"]>(r.replays) ?? [];
  return {
    ...toRunSummary(r),
    jobName: r.job_name,
    actor: r.actor ?? null,
    replayOf: r.replay_of ?? null,
    holder: r.holder ?? null,
    createdAt: isoOrNull(r.created_at),
    dedupeKey: r.dedupe_key ?? null,
    fencingToken: numOrNull(r.fencing_token),
    leaseExpiresAt: isoOrNull(r.lease_expires_at),
    errorStack: r.error_stack ?? null,
    output: jsonValue(r.output),
    input: jsonValue(r.input) ?? null,
    logLines: jsonValue<RunDetail["logLines"]>(r.log_lines) ?? [],
    attemptDetails: jsonValue<RunDetail["attemptDetails"]>(r.attempt_details) ?? [],
    codeVersion: r.code_version ?? null,
    cancelRequestedAt: isoOrNull(r.cancel_requested_at),
    nextRetryAt: isoOrNull(r.next_retry_at),
    replays: replays.map((x) => ({ ...x, startedAt: iso(x.startedAt) })),
    deadLetter: jsonValue<RunDetail["deadLetter"]>(r.dead_letter),
  };
}

/**
 * What the run page polls while a run is running (GET /api/admin/runs/[id]/progress?since=n):
 * its status, attempts and the log lines after the first `since`, and little else, so a poll
 * every few seconds stays light (one row by primary key, only the log's tail leaves the database).
 */
export interface RunProgressView {
  id: string;
  status: RunStatus;
  attempts: number | null;
  attemptDetails: RunDetail["attemptDetails"];
  /** How many lines the row holds; the next poll asks for the lines after them. */
  logCount: number;
  /** The lines after `since` (their indexes are since, since + 1, ...). */
  logLines: RunDetail["logLines"];
  startedAt: string;
  completedAt: string | null;
  durationMs: number | null;
  leaseExpiresAt: string | null;
  error: string | null;
  /** Why it was skipped (status skipped), else null. */
  skipReason: SkipReason | null;
}

/** One run's progress from line `since` on; null when there is no such run. */
export async function getRunProgress(db: Db, id: string, since: number): Promise<RunProgressView | null> {
  const [r] = await queryRows<{
    id: string;
    status: RunStatus;
    attempts: DbNumber | null;
    attempt_details: unknown;
    log_count: DbNumber | null;
    tail: unknown;
    started_at: DbTime;
    completed_at: DbTime | null;
    duration_ms: DbNumber | null;
    lease_expires_at: DbTime | null;
    error_message: string | null;
    skip_reason: SkipReason | null;
  }>(
    db,
    sql`SELECT l.id, l.status, l.skip_reason, l.attempts, l.attempt_details, coalesce(jsonb_array_length(l.log_lines), 0) AS log_count,
               (SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb) FROM jsonb_array_elements(coalesce(l.log_lines, '[]'::jsonb)) WITH ORDINALITY t(e, i)
                 WHERE i > ${since}) AS tail,
               l.started_at, l.completed_at, l.duration_ms, l.lease_expires_at, l.error_message
        FROM cron_job_logs l WHERE l.id = ${id}::uuid`,
  );
  if (!r) return null;
  return {
    id: r.id,
    status: r.status,
    attempts: numOrNull(r.attempts),
    attemptDetails: jsonValue<RunDetail["attemptDetails"]>(r.attempt_details) ?? [],
    logCount: numOrNull(r.log_count) ?? 0,
    logLines: jsonValue<RunDetail["logLines"]>(r.tail) ?? [],
    startedAt: iso(r.started_at),
    completedAt: isoOrNull(r.completed_at),
    durationMs: numOrNull(r.duration_ms),
    leaseExpiresAt: isoOrNull(r.lease_expires_at),
    error: r.error_message ?? null,
    skipReason: r.skip_reason ?? null,
  };
}
