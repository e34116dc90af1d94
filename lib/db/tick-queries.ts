import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";

const ISO_SLOT = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/**
 * Deferred retries whose time has come, of jobs in the registry: oldest first across jobs, at
 * most `perJob` of each job, so a job with many due retries (busy, or failing on dispatch)
 * never keeps the others' from starting.
 */
export async function dueRetries(
  db: Db,
  now: Date,
  jobNames: string[],
  options: { perJob?: number; limit?: number } = {},
): Promise<Array<{ runId: string; jobName: string; nextRetryAt: Date }>> {
  const rows = await queryRows<{ id: string; job_name: string; next_retry_at: string | Date }>(
    db,
    sql`SELECT id, job_name, next_retry_at FROM (
          SELECT id, job_name, next_retry_at, row_number() OVER (PARTITION BY job_name ORDER BY next_retry_at, id) AS nth
          FROM cron_job_logs
          WHERE status = 'retry_scheduled' AND next_retry_at <= ${now.toISOString()}::timestamptz
            AND job_name IN (SELECT jsonb_array_elements_text(${JSON.stringify(jobNames)}::jsonb))
        ) due
        WHERE nth <= ${options.perJob ?? 2}
        ORDER BY next_retry_at, id LIMIT ${options.limit ?? 20}`,
  );
  return rows.map((r) => ({ runId: r.id, jobName: r.job_name, nextRetryAt: new Date(r.next_retry_at) }));
}

/** A deferred retry whose job is gone from the registry, settled as failed. */
export interface OrphanedRetry {
  runId: string;
  jobName: string;
  scheduledFor: Date | null;
  error: string;
}

/**
 * Settles due retries of jobs that are no longer in the registry: nothing can run them (the
 * execute route answers 404), so they become `failed` with the reason, once each (the status
 * leaves retry_scheduled in the same statement), at most `limit` per tick.
 */
export async function settleOrphanedRetries(db: Db, now: Date, jobNames: string[], limit = 100): Promise<OrphanedRetry[]> {
  const rows = await queryRows<{ id: string; job_name: string; scheduled_for: string | Date | null; error_message: string }>(
    db,
    sql`UPDATE cron_job_logs l
        SET status = 'failed', next_retry_at = NULL, completed_at = now(),
            duration_ms = GREATEST(0, (EXTRACT(EPOCH FROM (now() - l.started_at)) * 1000)::int),
            error_message = 'job ' || l.job_name || ' is no longer in the registry: its deferred retry cannot run'
        WHERE l.id IN (
          SELECT id FROM cron_job_logs
          WHERE status = 'retry_scheduled' AND next_retry_at <= ${now.toISOString()}::timestamptz
            AND job_name NOT IN (SELECT jsonb_array_elements_text(${JSON.stringify(jobNames)}::jsonb))
          ORDER BY next_retry_at LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
          AND l.status = 'retry_scheduled'
        RETURNING l.id, l.job_name, l.scheduled_for, l.error_message`,
  );
  return rows.map((r) => ({ runId: r.id, jobName: r.job_name, scheduledFor: r.scheduled_for ? new Date(r.scheduled_for) : null, error: r.error_message }));
}

export interface JobState {
  jobName: string;
  enabled: boolean | null;
  paused: boolean;
  deadLettered: boolean;
  missedCheckedUntil: Date | null;
}

/** Runtime state of the given jobs (a job without a row has the defaults). */
export async function jobStates(db: Db, names: string[]): Promise<Map<string, JobState>> {
  const rows = await queryRows<{ job_name: string; enabled: boolean | null; paused: boolean; dead_lettered: boolean; missed_checked_until: string | Date | null }>(
    db,
    sql`SELECT job_name, enabled, paused, dead_lettered, missed_checked_until FROM cron_job_config WHERE job_name IN (SELECT jsonb_array_elements_text(${JSON.stringify(names)}::jsonb))`,
  );
  return new Map(
    rows.map((r) => [
      r.job_name,
      { jobName: r.job_name, enabled: r.enabled, paused: r.paused, deadLettered: r.dead_lettered, missedCheckedUntil: r.missed_checked_until ? new Date(r.missed_checked_until) : null },
    ]),
  );
}

/** Moves the job's missed-slot bookmark (creating its config row; enabled stays NULL = as defined). */
export async function setMissedCheckedUntil(db: Db, jobName: string, until: Date): Promise<void> {
  await db.execute(
    sql`INSERT INTO cron_job_config AS c (job_name, enabled, missed_checked_until) VALUES (${jobName}, NULL, ${until.toISOString()}::timestamptz)
        ON CONFLICT (job_name) DO UPDATE SET missed_checked_until = GREATEST(c.missed_checked_until, excluded.missed_checked_until)`,
  );
}

/**
 * Of the given slots, records those with no row at all as `missed` (once each: the
 * dedupe key `missed:<slot>` is unique) and returns them, oldest first.
 */
export async function recordMissedSlots(db: Db, jobName: string, slots: Date[], holder: string): Promise<Date[]> {
  if (slots.length === 0) return [];
  const iso = slots.map((s) => s.toISOString());
  const rows = await queryRows<{ scheduled_for: string | Date }>(
    db,
    sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, attempts, scheduled_for, trigger, dedupe_key, holder, error_message)
        SELECT ${jobName}, 'missed', now(), now(), 0, 0, s.slot, 'tick', 'missed:' || ${ISO_SLOT("s.slot")}, ${holder},
               'no trigger arrived for this slot'
        FROM (SELECT value::timestamptz AS slot FROM jsonb_array_elements_text(${JSON.stringify(iso)}::jsonb)) AS s
        WHERE NOT EXISTS (SELECT 1 FROM cron_job_logs l WHERE l.job_name = ${jobName} AND l.scheduled_for = s.slot)
        ON CONFLICT DO NOTHING
        RETURNING scheduled_for`,
  );
  return rows.map((r) => new Date(r.scheduled_for)).sort((a, b) => a.getTime() - b.getTime());
}

/** Marks missed slots for a catch-up run (next_retry_at on a missed row: "catch up from then on"). */
export async function scheduleCatchUps(db: Db, jobName: string, slots: Date[], now: Date): Promise<void> {
  if (slots.length === 0) return;
  await db.execute(
    sql`UPDATE cron_job_logs SET next_retry_at = ${now.toISOString()}::timestamptz
        WHERE job_name = ${jobName} AND status = 'missed'
          AND scheduled_for IN (SELECT value::timestamptz FROM jsonb_array_elements_text(${JSON.stringify(slots.map((s) => s.toISOString()))}::jsonb))`,
  );
}

/**
 * The oldest pending catch-up of a job, if the job's lease is free: one per tick, so catch-ups
 * run one after another instead of skipping each other as overlaps. A catch-up stays pending
 * (its missed row keeps next_retry_at) until the execute route has claimed its slot, i.e. a
 * run row with the dedupe key `slot:<iso>` exists: a dispatch that fails, times out before the
 * claim or answers 5xx is dispatched again by the next tick. Claimed ones leave the queue here.
 */
export async function nextPendingCatchUp(db: Db, jobName: string, now: Date): Promise<Date | null> {
  await db.execute(
    sql`UPDATE cron_job_logs m SET next_retry_at = NULL
        WHERE m.job_name = ${jobName} AND m.status = 'missed' AND m.next_retry_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM cron_job_logs r WHERE r.job_name = ${jobName} AND r.dedupe_key = 'slot:' || ${ISO_SLOT("m.scheduled_for")})`,
  );
  const [row] = await queryRows<{ scheduled_for: string | Date }>(
    db,
    sql`SELECT m.scheduled_for FROM cron_job_logs m
        WHERE m.job_name = ${jobName} AND m.status = 'missed' AND m.next_retry_at <= ${now.toISOString()}::timestamptz
          AND NOT EXISTS (SELECT 1 FROM cron_job_leases k WHERE k.job_name = ${jobName} AND k.expires_at > now())
        ORDER BY m.scheduled_for LIMIT 1`,
  );
  return row ? new Date(row.scheduled_for) : null;
}

/** Takes a catch-up out of the queue without a run: the execute route refused it for good (4xx). */
export async function dropCatchUp(db: Db, jobName: string, slot: Date): Promise<void> {
  await db.execute(
    sql`UPDATE cron_job_logs SET next_retry_at = NULL
        WHERE job_name = ${jobName} AND status = 'missed' AND scheduled_for = ${slot.toISOString()}::timestamptz`,
  );
}
