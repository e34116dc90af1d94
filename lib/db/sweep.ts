import { sql } from "drizzle-orm";
import type { AbandonedRun } from "../cron/tick-store";
import { queryRows, type Db } from "./client";
import { markAbandoned } from "./abandon";
import { num, numOrNull, toDate, toDateOrNull, type DbNumber, type DbTime } from "./rows";
import { settleExpiredQueued } from "./run-store";

export type { AbandonedRun };

/**
 * Frees expired leases and marks their runs abandoned with what is known (holder, how long it
 * held the lease, when it expired: crondeck_abandoned_message in drizzle/0006_failure_path.sql).
 * Also catches runs of overlap "allow" jobs, which hold no job lease, by their own lease expiry.
 * Marking a run abandoned takes it through the failure path in the same statement (failure count,
 * dead letter, auto-pause) and leaves it owing its alerts (alerts_pending), which the tick sends.
 * Uses the database clock.
 */
export async function sweepExpiredLeases(db: Db): Promise<AbandonedRun[]> {
  // Queued bufferOne/replace rows whose waiter is gone (their own expiry passed): skipped.
  await settleExpiredQueued(db);
  const rows = await queryRows<{ run_id: string; job_name: string; holder: string; held_s: DbNumber; expired_s: DbNumber; failure_streak: DbNumber | null; auto_paused: boolean }>(
    db,
    sql`WITH expired AS (
          DELETE FROM cron_job_leases k WHERE k.expires_at <= now()
          RETURNING k.run_id, k.job_name, k.holder, k.acquired_at, k.expires_at
        ), leased AS (
          UPDATE cron_job_logs l
             SET ${markAbandoned(sql`crondeck_abandoned_message(e.holder, e.acquired_at, e.expires_at)`, { keepLeaseExpiry: true })}
            FROM expired e
           WHERE l.id = e.run_id AND l.status = 'started'
          RETURNING l.id AS run_id, l.job_name, e.holder, l.failure_streak, l.auto_paused,
                    extract(epoch FROM e.expires_at - e.acquired_at)::int AS held_s, extract(epoch FROM now() - e.expires_at)::int AS expired_s
        ), unleased AS (
          UPDATE cron_job_logs l
             SET ${markAbandoned(sql`crondeck_abandoned_message(l.holder, l.started_at, l.lease_expires_at)`, { keepLeaseExpiry: true })}
           WHERE l.status = 'started' AND l.lease_expires_at <= now()
             AND NOT EXISTS (SELECT 1 FROM cron_job_leases k WHERE k.run_id = l.id)
             AND NOT EXISTS (SELECT 1 FROM expired e WHERE e.run_id = l.id)
          RETURNING l.id AS run_id, l.job_name, l.holder, l.failure_streak, l.auto_paused,
                    extract(epoch FROM l.lease_expires_at - l.started_at)::int AS held_s, extract(epoch FROM now() - l.lease_expires_at)::int AS expired_s
        )
        SELECT * FROM leased UNION ALL SELECT * FROM unleased`,
  );
  return rows.map((r) => ({
    runId: r.run_id,
    jobName: r.job_name,
    holder: r.holder,
    heldForSeconds: num(r.held_s),
    expiredSecondsAgo: num(r.expired_s),
    consecutiveFailures: numOrNull(r.failure_streak),
    autoPaused: Boolean(r.auto_paused),
  }));
}

/** An abandoned run that owed its alerts, as {@link takeAbandonedAlerts} hands it over. */
export interface AbandonedAlertRun {
  runId: string;
  jobName: string;
  trigger: string;
  scheduledFor: Date | null;
  completedAt: Date;
  durationMs: number | null;
  attempts: number;
  error: string | null;
  consecutiveFailures: number;
  incidentId: string | null;
  deadLetterId: string | null;
  autoPaused: boolean;
}

/**
 * Takes the abandoned runs that still owe their alerts (alerts_pending), oldest first, and
 * marks them as no longer owing, in one statement: whoever takes a run sends its alerts, so two
 * ticks at once never both send them. Every abandon path leaves the flag: the claim that found
 * an expired lease, the sweep, graceful shutdown, an operator clearing a lease.
 */
export async function takeAbandonedAlerts(db: Db, limit = 100): Promise<AbandonedAlertRun[]> {
  const rows = await queryRows<{
    id: string;
    job_name: string;
    trigger: string;
    scheduled_for: DbTime | null;
    completed_at: DbTime | null;
    duration_ms: DbNumber | null;
    attempts: DbNumber | null;
    error_message: string | null;
    failure_streak: DbNumber | null;
    incident_id: string | null;
    dead_letter_id: string | null;
    auto_paused: boolean;
  }>(
    db,
    sql`WITH owed AS (
          SELECT l.id FROM cron_job_logs l WHERE l.alerts_pending ORDER BY l.completed_at, l.id LIMIT ${limit} FOR UPDATE SKIP LOCKED
        )
        UPDATE cron_job_logs l SET alerts_pending = false
          FROM owed o
         WHERE l.id = o.id
        RETURNING l.id, l.job_name, l.trigger, l.scheduled_for, l.completed_at, l.duration_ms, l.attempts, l.error_message,
                  l.failure_streak, l.incident_id, l.auto_paused,
                  (SELECT d.id FROM cron_dead_letters d WHERE d.run_id = l.id) AS dead_letter_id`,
  );
  return rows
    .map((r) => ({
      runId: r.id,
      jobName: r.job_name,
      trigger: r.trigger,
      scheduledFor: toDateOrNull(r.scheduled_for),
      completedAt: r.completed_at ? toDate(r.completed_at) : new Date(),
      durationMs: numOrNull(r.duration_ms),
      attempts: num(r.attempts),
      error: r.error_message,
      consecutiveFailures: Number(r.failure_streak ?? 1),
      incidentId: r.incident_id,
      deadLetterId: r.dead_letter_id,
      autoPaused: Boolean(r.auto_paused),
    }))
    .sort((a, b) => a.completedAt.getTime() - b.completedAt.getTime());
}
