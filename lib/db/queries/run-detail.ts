import { sql } from "drizzle-orm";
import type { RecoveryStatus, RunStatus } from "../../cron/vocabulary";
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
  logLines: Array<{ at: string; message: string; data?: Record<string, unknown> }>;
  attemptDetails: Array<{ attempt: number; startedAt: string; durationMs: number; error?: string; timedOut?: boolean }>;
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
    logLines: jsonValue<RunDetail["logLines"]>(r.log_lines) ?? [],
    attemptDetails: jsonValue<RunDetail["attemptDetails"]>(r.attempt_details) ?? [],
    codeVersion: r.code_version ?? null,
    cancelRequestedAt: isoOrNull(r.cancel_requested_at),
    nextRetryAt: isoOrNull(r.next_retry_at),
    replays: replays.map((x) => ({ ...x, startedAt: iso(x.startedAt) })),
    deadLetter: jsonValue<RunDetail["deadLetter"]>(r.dead_letter),
  };
}
