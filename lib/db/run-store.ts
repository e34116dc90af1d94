import { sql } from "drizzle-orm";
import type {
  AttemptRecord,
  ClaimInput,
  ClaimResult,
  FinishInput,
  FinishResult,
  HeartbeatResult,
  LogLine,
  PromoteResult,
  RetryClaimResult,
  RunProgress,
  RunStore,
  SkipInput,
} from "../cron/run-store";
import type { SkipReason } from "../cron/vocabulary";
import { queryRows, type Db } from "./client";
import { jsonValue, num, toDate, toDateOrNull, type DbNumber, type DbTime } from "./rows";

interface ClaimRow {
  outcome: "claimed" | "queued" | "skipped";
  reason: SkipReason | null;
  run_id: string;
  fencing_token: DbNumber | null;
  started_at: DbTime;
  blocking_run_id: string | null;
}

function claimResult(row: ClaimRow | undefined): ClaimResult {
  if (!row) throw new Error("the claim returned no row");
  switch (row.outcome) {
    case "claimed":
      return { outcome: "claimed", runId: row.run_id, fencingToken: num(row.fencing_token), startedAt: toDate(row.started_at) };
    case "queued":
      return { outcome: "queued", runId: row.run_id, blockingRunId: row.blocking_run_id };
    case "skipped":
      return { outcome: "skipped", runId: row.run_id, reason: row.reason!, blockingRunId: row.blocking_run_id, startedAt: toDate(row.started_at) };
  }
}

/**
 * Queued rows whose waiter is gone (died, shut down, or could not write its drop): skipped.
 * The claim and promote settle a job's own on the way; the sweep settles every job's.
 */
export async function settleExpiredQueued(db: Db): Promise<number> {
  const [row] = await queryRows<{ settled: DbNumber }>(db, sql`SELECT crondeck_settle_expired_queued() AS settled`);
  return num(row?.settled);
}

/**
 * The Postgres run store: each method is one call to a function in drizzle/ (0002_engine_functions.sql,
 * redefined by later migrations).
 */
export class PostgresRunStore implements RunStore {
  constructor(private readonly db: Db) {}

  async claim(c: ClaimInput): Promise<ClaimResult> {
    const rows = await queryRows<ClaimRow>(
      this.db,
      sql`SELECT * FROM crondeck_claim_run(${c.jobName}, ${c.trigger}, ${c.scheduledFor?.toISOString() ?? null}::timestamptz, ${c.dedupeKey},
            ${c.overlap}, ${c.enabledByDefault}, ${c.checkState}, ${Math.ceil(c.leaseMs)}::int, ${c.holder}, ${c.codeVersion}, ${c.actor}, ${c.replayOf ?? null}::uuid, ${c.runId ?? null}::uuid,
            ${c.queueTtlMs == null ? null : Math.ceil(c.queueTtlMs)}::int, ${c.input == null ? null : JSON.stringify(c.input)}::jsonb)`,
    );
    return claimResult(rows[0]);
  }

  async recordSkip(s: SkipInput): Promise<ClaimResult & { outcome: "skipped" }> {
    const rows = await queryRows<ClaimRow>(
      this.db,
      sql`SELECT * FROM crondeck_record_skip(${s.jobName}, ${s.trigger}, ${s.scheduledFor?.toISOString() ?? null}::timestamptz, NULL::text, ${s.reason},
            ${s.holder}, ${s.codeVersion}, ${s.actor}, ${s.runId ?? null}::uuid)`,
    );
    const result = claimResult(rows[0]);
    if (result.outcome !== "skipped") throw new Error(`crondeck_record_skip answered ${result.outcome}`);
    return result;
  }

  async promote(runId: string, leaseMs: number, holder: string): Promise<PromoteResult> {
    const [row] = await queryRows<{ outcome: PromoteResult["outcome"]; fencing_token: DbNumber | null; started_at: DbTime | null }>(
      this.db,
      sql`SELECT * FROM crondeck_promote_run(${runId}::uuid, ${Math.ceil(leaseMs)}::int, ${holder})`,
    );
    if (row.outcome !== "claimed") return { outcome: row.outcome };
    return { outcome: "claimed", fencingToken: num(row.fencing_token), startedAt: toDate(row.started_at!) };
  }

  async dropQueued(runId: string, holder: string): Promise<void> {
    await this.db.execute(sql`SELECT crondeck_drop_queued(${runId}::uuid, ${holder})`);
  }

  async heartbeat(runId: string, fencingToken: number, leaseMs: number, progress?: RunProgress | null): Promise<HeartbeatResult> {
    // The progress rides in the heartbeat's own call (drizzle/0013_live_progress.sql): no extra round trip.
    const p = progress ?? null;
    const details = p?.attemptDetails ? JSON.stringify(p.attemptDetails) : null;
    const tail = p && p.logLines.length ? JSON.stringify(p.logLines) : null;
    const [row] = await queryRows<{ alive: boolean; cancel_requested: boolean }>(
      this.db,
      p
        ? sql`SELECT alive, cancel_requested FROM crondeck_heartbeat(${runId}::uuid, ${fencingToken}::bigint, ${Math.ceil(leaseMs)}::int,
                ${p.attempts}::int, ${details}::jsonb, ${p.logFrom}::int, ${tail}::jsonb)`
        : sql`SELECT alive, cancel_requested FROM crondeck_heartbeat(${runId}::uuid, ${fencingToken}::bigint, ${Math.ceil(leaseMs)}::int)`,
    );
    return { alive: row.alive, cancelRequested: row.cancel_requested };
  }

  async finish(f: FinishInput): Promise<FinishResult> {
    const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
    const [row] = await queryRows<{
      finished: boolean;
      completed_at: DbTime | null;
      duration_ms: number | null;
      consecutive_failures: number | null;
      previous_failures: number | null;
      dead_letter_id: string | null;
      auto_paused: boolean;
    }>(
      this.db,
      sql`SELECT * FROM crondeck_finish_run(${f.runId}::uuid, ${f.fencingToken}::bigint, ${f.status}, ${f.attempts}::int, ${f.errorMessage}, ${f.errorStack},
            ${json(f.output)}::jsonb, ${json(f.logLines)}::jsonb, ${json(f.attemptDetails)}::jsonb, ${f.releaseLease}, ${f.nextRetryAt?.toISOString() ?? null}::timestamptz,
            ${f.deadLetter ?? false}, ${f.pauseAfter ?? 3}::int)`,
    );
    if (!row.finished) {
      // Fenced out, or a retried finish whose first try committed (its reply was lost): one
      // more round trip, only on this path, tells which, and notes a lease loss on the row.
      const [note] = await queryRows<{
        already_finished: boolean;
        taken_over_by: string | null;
        completed_at: DbTime | null;
        duration_ms: number | null;
        consecutive_failures: number | null;
        dead_letter_id: string | null;
        auto_paused: boolean;
      }>(this.db, sql`SELECT * FROM crondeck_note_lease_lost(${f.runId}::uuid, ${f.fencingToken}::bigint, ${json(f.attemptDetails)}::jsonb, ${f.status})`);
      if (note?.already_finished) {
        return {
          finished: true,
          takenOverBy: null,
          completedAt: toDateOrNull(note.completed_at),
          durationMs: note.duration_ms,
          consecutiveFailures: note.consecutive_failures,
          previousFailures: null,
          deadLetterId: note.dead_letter_id,
          autoPaused: note.auto_paused,
        };
      }
      return { finished: false, takenOverBy: note?.taken_over_by ?? null, completedAt: null, durationMs: null, consecutiveFailures: null, previousFailures: null, deadLetterId: null, autoPaused: false };
    }
    return {
      finished: true,
      takenOverBy: null,
      completedAt: toDateOrNull(row.completed_at),
      durationMs: row.duration_ms,
      consecutiveFailures: row.consecutive_failures,
      previousFailures: row.previous_failures,
      deadLetterId: row.dead_letter_id,
      autoPaused: row.auto_paused,
    };
  }

  async claimRetry(runId: string, leaseMs: number, holder: string, codeVersion: string | null): Promise<RetryClaimResult> {
    const [row] = await queryRows<{
      outcome: "claimed" | "busy" | "gone";
      fencing_token: DbNumber | null;
      started_at: DbTime | null;
      scheduled_for: DbTime | null;
      attempt_details: unknown;
      log_lines: unknown;
      blocking_run_id: string | null;
      input: unknown;
    }>(
      this.db,
      // The row's input rides along in the same round trip: a resumed retry runs with the input its run was asked for.
      sql`SELECT r.*, (SELECT l.input FROM cron_job_logs l WHERE l.id = ${runId}::uuid) AS input FROM crondeck_claim_retry(${runId}::uuid, ${Math.ceil(leaseMs)}::int, ${holder}, ${codeVersion}) r`,
    );
    if (row.outcome === "gone") return { outcome: "gone" };
    if (row.outcome === "busy") return { outcome: "busy", blockingRunId: row.blocking_run_id };
    return {
      outcome: "claimed",
      fencingToken: num(row.fencing_token),
      startedAt: toDate(row.started_at!),
      scheduledFor: toDateOrNull(row.scheduled_for),
      attemptDetails: jsonValue<AttemptRecord[]>(row.attempt_details) ?? [],
      logLines: jsonValue<LogLine[]>(row.log_lines) ?? [],
      input: jsonValue(row.input) ?? null,
    };
  }

  async releaseLease(runId: string, fencingToken: number): Promise<void> {
    await this.db.execute(sql`SELECT crondeck_release_lease(${runId}::uuid, ${fencingToken}::bigint)`);
  }
}
