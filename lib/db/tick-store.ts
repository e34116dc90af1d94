import { sql } from "drizzle-orm";
import type { DueRetry, JobSlot, OrphanedRetry, TickJobConfig, TickStore } from "../cron/tick-store";
import { queryRows, type Db } from "./client";
import { PostgresUpstreamSource } from "./queries/dependencies";
import { toDate, toDateOrNull, type DbTime } from "./rows";
import { sweepExpiredLeases } from "./sweep";

const ISO_SLOT = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
/** A row that can hold a queued catch-up: a missed slot, or a dependent slot skipped upstream_failed whose upstream then succeeded. */
const QUEUED = (alias: string) => sql.raw(`(${alias}.status = 'missed' OR (${alias}.status = 'skipped' AND ${alias}.skip_reason = 'upstream_failed'))`);
/** A list of names or instants as one parameter, read back with jsonb_array_elements_text. */
const jsonList = (values: readonly (string | Date)[]) => JSON.stringify(values.map((v) => (v instanceof Date ? v.toISOString() : v)));

/**
 * The tick's store on Postgres (and PGlite). Missed slots are `missed` rows in cron_job_logs
 * (dedupe key `missed:<slot>`), a queued catch-up is a missed row with next_retry_at set, the
 * bookmark is cron_job_config.missed_checked_until. Leases expire by the database clock.
 */
export class PostgresTickStore implements TickStore {
  private readonly upstream: PostgresUpstreamSource;

  constructor(private readonly db: Db) {
    this.upstream = new PostgresUpstreamSource(db);
  }

  slotRows(pairs: ReadonlyArray<{ jobName: string; slot: Date }>) {
    return this.upstream.slotRows(pairs);
  }

  /**
   * Queues a dependent job's slots that were skipped upstream_failed for a catch-up, due from
   * `at` (an upstream's replay succeeded): the skip row carries next_retry_at as a missed row
   * does, and leaves the queue once the slot has its run. Slots already run are left alone.
   */
  async requeueUpstreamFailed(jobName: string, slots: readonly Date[], at: Date): Promise<number> {
    if (slots.length === 0) return 0;
    const rows = await queryRows<{ id: string }>(
      this.db,
      sql`UPDATE cron_job_logs s SET next_retry_at = ${at.toISOString()}::timestamptz
          WHERE s.job_name = ${jobName} AND s.status = 'skipped' AND s.skip_reason = 'upstream_failed' AND s.next_retry_at IS NULL
            AND s.scheduled_for IN (SELECT value::timestamptz FROM jsonb_array_elements_text(${jsonList(slots)}::jsonb))
            AND NOT EXISTS (SELECT 1 FROM cron_job_logs r WHERE r.job_name = ${jobName} AND r.scheduled_for = s.scheduled_for AND r.dedupe_key LIKE 'slot:%')
          RETURNING s.id`,
    );
    return rows.length;
  }

  sweepExpiredLeases() {
    return sweepExpiredLeases(this.db);
  }

  async settleOrphanedRetries(now: Date, jobNames: readonly string[], limit = 100): Promise<OrphanedRetry[]> {
    // The status leaves retry_scheduled in the same statement: each run is settled once.
    const rows = await queryRows<{ id: string; job_name: string; scheduled_for: DbTime | null; error_message: string }>(
      this.db,
      sql`UPDATE cron_job_logs l
          SET status = 'failed', next_retry_at = NULL, completed_at = now(),
              duration_ms = GREATEST(0, (EXTRACT(EPOCH FROM (now() - l.started_at)) * 1000)::int),
              error_message = 'job ' || l.job_name || ' is no longer in the registry: its deferred retry cannot run'
          WHERE l.id IN (
            SELECT id FROM cron_job_logs
            WHERE status = 'retry_scheduled' AND next_retry_at <= ${now.toISOString()}::timestamptz
              AND job_name NOT IN (SELECT jsonb_array_elements_text(${jsonList(jobNames)}::jsonb))
            ORDER BY next_retry_at LIMIT ${limit}
            FOR UPDATE SKIP LOCKED)
            AND l.status = 'retry_scheduled'
          RETURNING l.id, l.job_name, l.scheduled_for, l.error_message`,
    );
    return rows.map((r) => ({ runId: r.id, jobName: r.job_name, scheduledFor: toDateOrNull(r.scheduled_for), error: r.error_message }));
  }

  async dueRetries(now: Date, jobNames: readonly string[], caps: { perJob: number; limit: number }): Promise<DueRetry[]> {
    const rows = await queryRows<{ id: string; job_name: string; next_retry_at: DbTime }>(
      this.db,
      sql`SELECT id, job_name, next_retry_at FROM (
            SELECT id, job_name, next_retry_at, row_number() OVER (PARTITION BY job_name ORDER BY next_retry_at, id) AS nth
            FROM cron_job_logs
            WHERE status = 'retry_scheduled' AND next_retry_at <= ${now.toISOString()}::timestamptz
              AND job_name IN (SELECT jsonb_array_elements_text(${jsonList(jobNames)}::jsonb))
          ) due
          WHERE nth <= ${caps.perJob}
          ORDER BY next_retry_at, id LIMIT ${caps.limit}`,
    );
    return rows.map((r) => ({ runId: r.id, jobName: r.job_name, nextRetryAt: toDate(r.next_retry_at) }));
  }

  async jobConfigs(jobNames: readonly string[]): Promise<Map<string, TickJobConfig>> {
    const rows = await queryRows<{ job_name: string; enabled: boolean | null; paused: boolean; dead_lettered: boolean; missed_checked_until: DbTime | null }>(
      this.db,
      sql`SELECT job_name, enabled, paused, dead_lettered, missed_checked_until FROM cron_job_config
          WHERE job_name IN (SELECT jsonb_array_elements_text(${jsonList(jobNames)}::jsonb))`,
    );
    return new Map(
      rows.map((r) => [
        r.job_name,
        { jobName: r.job_name, enabled: r.enabled, paused: r.paused, deadLettered: r.dead_lettered, missedCheckedUntil: toDateOrNull(r.missed_checked_until) },
      ]),
    );
  }

  async setMissedCheckedUntil(jobName: string, until: Date): Promise<void> {
    // enabled stays NULL: as the job's definition says.
    await this.db.execute(
      sql`INSERT INTO cron_job_config AS c (job_name, enabled, missed_checked_until) VALUES (${jobName}, NULL, ${until.toISOString()}::timestamptz)
          ON CONFLICT (job_name) DO UPDATE SET missed_checked_until = GREATEST(c.missed_checked_until, excluded.missed_checked_until)`,
    );
  }

  async recordMissedSlots(jobName: string, slots: readonly Date[], holder: string): Promise<Date[]> {
    if (slots.length === 0) return [];
    // Once each: the dedupe key `missed:<slot>` is unique, and a slot with any row is not missed.
    // A slot inside the job's snooze or asked to be skipped is that skip, as the claim would record it.
    const rows = await queryRows<{ scheduled_for: DbTime; status: string }>(
      this.db,
      sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, attempts, scheduled_for, trigger, dedupe_key, holder, error_message, skip_reason, actor)
          SELECT ${jobName}, CASE WHEN s.skip IS NULL THEN 'missed' ELSE 'skipped' END, now(), now(), 0, 0, s.slot, 'tick', 'missed:' || ${ISO_SLOT("s.slot")}, ${holder},
                 CASE WHEN s.skip IS NULL THEN 'no trigger arrived for this slot' END, s.skip, s.actor
          FROM (SELECT v.slot, k.skip, CASE k.skip WHEN 'snoozed' THEN c.snoozed_by WHEN 'skip_requested' THEN c.skip_requested_by END AS actor
                FROM (SELECT value::timestamptz AS slot FROM jsonb_array_elements_text(${jsonList(slots)}::jsonb)) AS v
                LEFT JOIN cron_job_config c ON c.job_name = ${jobName}
                CROSS JOIN LATERAL (SELECT CASE WHEN v.slot < c.snoozed_until THEN 'snoozed' WHEN v.slot = ANY (c.skip_slots) THEN 'skip_requested' END AS skip) k) AS s
          WHERE NOT EXISTS (SELECT 1 FROM cron_job_logs l WHERE l.job_name = ${jobName} AND l.scheduled_for = s.slot)
          ON CONFLICT DO NOTHING
          RETURNING scheduled_for, status`,
    );
    return rows.filter((r) => r.status === "missed").map((r) => toDate(r.scheduled_for)).sort((a, b) => a.getTime() - b.getTime());
  }

  async scheduleCatchUps(jobName: string, slots: readonly Date[], at: Date): Promise<void> {
    if (slots.length === 0) return;
    await this.db.execute(
      sql`UPDATE cron_job_logs SET next_retry_at = ${at.toISOString()}::timestamptz
          WHERE job_name = ${jobName} AND status = 'missed'
            AND scheduled_for IN (SELECT value::timestamptz FROM jsonb_array_elements_text(${jsonList(slots)}::jsonb))`,
    );
  }

  /**
   * One catch-up per tick, so catch-ups run one after another instead of skipping each other as
   * overlaps. A dispatch that fails, times out before the claim or answers 5xx leaves the
   * catch-up queued for the next tick; claimed ones (a run row keyed `slot:<iso>`) leave the queue here.
   */
  async nextPendingCatchUp(jobName: string, now: Date): Promise<Date | null> {
    // One round trip: the SELECT sees the rows as they were before the UPDATE in WITH, so it
    // leaves out the catch-ups that UPDATE takes out of the queue by their ids.
    const [row] = await queryRows<{ scheduled_for: DbTime }>(
      this.db,
      sql`WITH claimed AS (
            UPDATE cron_job_logs m SET next_retry_at = NULL
            WHERE m.job_name = ${jobName} AND ${QUEUED("m")} AND m.next_retry_at IS NOT NULL
              AND EXISTS (SELECT 1 FROM cron_job_logs r WHERE r.job_name = ${jobName} AND r.dedupe_key = 'slot:' || ${ISO_SLOT("m.scheduled_for")})
            RETURNING m.id
          )
          SELECT m.scheduled_for FROM cron_job_logs m
          WHERE m.job_name = ${jobName} AND ${QUEUED("m")} AND m.next_retry_at <= ${now.toISOString()}::timestamptz
            AND m.id NOT IN (SELECT id FROM claimed)
            AND NOT EXISTS (SELECT 1 FROM cron_job_leases k WHERE k.job_name = ${jobName} AND k.expires_at > now())
          ORDER BY m.scheduled_for, m.id LIMIT 1`,
    );
    return row ? toDate(row.scheduled_for) : null;
  }

  async dropCatchUp(jobName: string, slot: Date): Promise<void> {
    await this.db.execute(
      sql`UPDATE cron_job_logs m SET next_retry_at = NULL
          WHERE m.job_name = ${jobName} AND ${QUEUED("m")} AND m.scheduled_for = ${slot.toISOString()}::timestamptz`,
    );
  }

  async claimedSlots(slots: readonly JobSlot[]): Promise<JobSlot[]> {
    if (slots.length === 0) return [];
    // The claim's own test: a row keyed `slot:<iso>` (uq_cron_logs_job_slot).
    const rows = await queryRows<{ job_name: string; scheduled_for: DbTime }>(
      this.db,
      sql`SELECT l.job_name, l.scheduled_for FROM cron_job_logs l
          JOIN (SELECT value->>'jobName' AS job_name, (value->>'slot')::timestamptz AS slot
                  FROM jsonb_array_elements(${JSON.stringify(slots.map((s) => ({ jobName: s.jobName, slot: s.slot.toISOString() })))}::jsonb)) w
            ON l.job_name = w.job_name AND l.scheduled_for = w.slot
         WHERE l.dedupe_key LIKE 'slot:%' OR (l.status = 'skipped' AND l.skip_reason = 'upstream_failed' AND l.next_retry_at IS NULL)`,
    );
    return rows.map((r) => ({ jobName: r.job_name, slot: toDate(r.scheduled_for) }));
  }
}
