import { sql } from "drizzle-orm";
import { FAILURE_STATUSES, LOCK_MISS_REASONS, type RecoveryStatus, type RunStatus } from "../../cron/vocabulary";
import type { RateMonitorKind } from "../../monitors/policy";
import type { LongRun, MonitorState, MonitorStore, RateCounts, StaleLease } from "../../monitors/store";
import { queryRows, type Db } from "../client";
import { closeMonitor, holdMonitors, markMonitorsAlerted, openMonitors } from "../monitors";
import { toDate, toDateOrNull, type DbNumber, type DbTime } from "../rows";

/**
 * The monitors' questions on Postgres (and PGlite), each one statement for every job at once:
 * the job list goes in as one jsonb parameter and is joined against the tables, so a tick costs
 * the same number of round trips with 5 jobs as with 500 (issue 16).
 */

const ENDED: readonly RunStatus[] = ["completed", ...FAILURE_STATUSES];
const PENDING: RecoveryStatus = "pending";
const LONG_RUNNING = "long_running";
/** At most this many long runs are alerted per tick (the rest next tick). */
const LONG_RUNS_PER_TICK = 100;
/** cron_alerts statuses that mean a run's long_running alert is done (a failed delivery is tried again). */
const ALERT_TAKEN = ["sent", "sending", "suppressed"];

const json = (value: unknown) => JSON.stringify(value);
const ms = (column: string) => sql.raw(`${column} * interval '1 millisecond'`);

export class PostgresMonitorStore implements MonitorStore {
  constructor(private readonly db: Db) {}

  openMonitors(): Promise<MonitorState[]> {
    return openMonitors(this.db);
  }

  holdMonitors(monitors: ReadonlyArray<{ jobName: string; kind: string; at: Date; value: number | null; detail: Record<string, unknown> | null }>) {
    return holdMonitors(this.db, monitors);
  }

  closeMonitor(m: { jobName: string; kind: string }) {
    return closeMonitor(this.db, m);
  }

  markAlerted(monitors: ReadonlyArray<{ jobName: string; kind: string; incidentId: string }>, at: Date) {
    return markMonitorsAlerted(this.db, monitors, at);
  }

  async lateBookmarks(jobNames: readonly string[]): Promise<Map<string, Date | null>> {
    if (jobNames.length === 0) return new Map();
    const rows = await queryRows<{ job_name: string; late_checked_until: DbTime | null }>(
      this.db,
      sql`SELECT job_name, late_checked_until FROM cron_job_config WHERE job_name IN (SELECT jsonb_array_elements_text(${json(jobNames)}::jsonb))`,
    );
    return new Map(rows.map((r) => [r.job_name, toDateOrNull(r.late_checked_until)]));
  }

  async setLateBookmarks(marks: ReadonlyArray<{ jobName: string; until: Date }>): Promise<void> {
    if (marks.length === 0) return;
    // enabled stays NULL on a new row: as the job's definition says. The bookmark only moves forward.
    await this.db.execute(
      sql`INSERT INTO cron_job_config AS c (job_name, enabled, late_checked_until)
          SELECT v.job_name, NULL, v.until FROM jsonb_to_recordset(${json(marks.map((m) => ({ job_name: m.jobName, until: m.until.toISOString() })))}::jsonb) AS v(job_name text, until timestamptz)
          ON CONFLICT (job_name) DO UPDATE SET late_checked_until = GREATEST(c.late_checked_until, excluded.late_checked_until)`,
    );
  }

  async triggeredSlots(slots: ReadonlyArray<{ jobName: string; slot: Date }>): Promise<Array<{ jobName: string; slot: Date }>> {
    if (slots.length === 0) return [];
    // Any row for the slot but the tick's own `missed` row: a run, a skip, a queued trigger; or a
    // slot nobody expected to run: inside the job's snooze, or asked to be skipped (skip-next).
    const rows = await queryRows<{ job_name: string; slot: DbTime }>(
      this.db,
      sql`SELECT DISTINCT v.job_name, v.slot
            FROM jsonb_to_recordset(${json(slots.map((s) => ({ job_name: s.jobName, slot: s.slot.toISOString() })))}::jsonb) AS v(job_name text, slot timestamptz)
           WHERE EXISTS (SELECT 1 FROM cron_job_logs l WHERE l.job_name = v.job_name AND l.scheduled_for = v.slot AND l.status <> 'missed')
              OR EXISTS (SELECT 1 FROM cron_job_config c WHERE c.job_name = v.job_name AND (v.slot < c.snoozed_until OR v.slot = ANY (c.skip_slots)))`,
    );
    return rows.map((r) => ({ jobName: r.job_name, slot: toDate(r.slot) }));
  }

  async longRuns(jobs: ReadonlyArray<{ jobName: string; maxRuntimeMs: number }>, now: Date): Promise<LongRun[]> {
    if (jobs.length === 0) return [];
    // Running rows come from the partial index idx_cron_logs_running; the alert check from
    // idx_cron_alerts_run_kind. A run whose alert failed on every channel is tried again next tick.
    const rows = await queryRows<{ id: string; job_name: string; started_at: DbTime; scheduled_for: DbTime | null; trigger: string }>(
      this.db,
      sql`SELECT l.id, l.job_name, l.started_at, l.scheduled_for, l.trigger
            FROM jsonb_to_recordset(${json(jobs.map((j) => ({ job_name: j.jobName, max_ms: j.maxRuntimeMs })))}::jsonb) AS p(job_name text, max_ms int8)
            JOIN cron_job_logs l ON l.job_name = p.job_name AND l.status = 'started'
           WHERE l.started_at <= ${now.toISOString()}::timestamptz - ${ms("p.max_ms")}
             AND NOT EXISTS (SELECT 1 FROM cron_alerts a WHERE a.run_id = l.id AND a.kind = ${LONG_RUNNING}
                               AND a.status IN (SELECT jsonb_array_elements_text(${json(ALERT_TAKEN)}::jsonb)))
           ORDER BY l.started_at, l.id
           LIMIT ${LONG_RUNS_PER_TICK}`,
    );
    return rows.map((r) => ({ runId: r.id, jobName: r.job_name, startedAt: toDate(r.started_at), scheduledFor: toDateOrNull(r.scheduled_for), trigger: r.trigger }));
  }

  async rateCounts(jobs: ReadonlyArray<{ jobName: string; windowsMs: Partial<Record<RateMonitorKind, number>> }>, now: Date): Promise<Map<string, RateCounts>> {
    if (jobs.length === 0) return new Map();
    const at = now.toISOString();
    // One scan of each job's longest window (idx_cron_logs_job_started), each kind counted over
    // its own window with FILTER. failure_rate and timeout_rate count the runs that ended
    // (completed or a failure status); lock_contention counts every trigger (every row but the
    // tick's `missed` ones) and the skips that met a held lease or a taken slot.
    const rows = await queryRows<{ job_name: string; f_runs: DbNumber; f_match: DbNumber; t_runs: DbNumber; t_match: DbNumber; l_runs: DbNumber; l_match: DbNumber }>(
      this.db,
      sql`WITH p AS (
            SELECT job_name, fw, tw, lw, GREATEST(fw, tw, lw) AS longest
              FROM jsonb_to_recordset(${json(jobs.map((j) => ({ job_name: j.jobName, fw: j.windowsMs.failure_rate ?? null, tw: j.windowsMs.timeout_rate ?? null, lw: j.windowsMs.lock_contention ?? null })))}::jsonb)
                   AS x(job_name text, fw int8, tw int8, lw int8)
          ),
          w AS (
            SELECT p.job_name, l.status, l.skip_reason,
                   l.started_at > ${at}::timestamptz - ${ms("p.fw")} AS in_f,
                   l.started_at > ${at}::timestamptz - ${ms("p.tw")} AS in_t,
                   l.started_at > ${at}::timestamptz - ${ms("p.lw")} AS in_l
              FROM p JOIN cron_job_logs l ON l.job_name = p.job_name
               AND l.started_at > ${at}::timestamptz - ${ms("p.longest")} AND l.started_at <= ${at}::timestamptz
          )
          SELECT job_name,
                 count(*) FILTER (WHERE in_f AND status IN (SELECT jsonb_array_elements_text(${json(ENDED)}::jsonb))) AS f_runs,
                 count(*) FILTER (WHERE in_f AND status IN (SELECT jsonb_array_elements_text(${json(FAILURE_STATUSES)}::jsonb))) AS f_match,
                 count(*) FILTER (WHERE in_t AND status IN (SELECT jsonb_array_elements_text(${json(ENDED)}::jsonb))) AS t_runs,
                 count(*) FILTER (WHERE in_t AND status = 'timed_out') AS t_match,
                 count(*) FILTER (WHERE in_l AND status <> 'missed') AS l_runs,
                 count(*) FILTER (WHERE in_l AND status = 'skipped' AND skip_reason IN (SELECT jsonb_array_elements_text(${json(LOCK_MISS_REASONS)}::jsonb))) AS l_match
            FROM w GROUP BY job_name`,
    );
    return new Map(
      rows.map((r) => [
        r.job_name,
        {
          failure_rate: { runs: Number(r.f_runs), matching: Number(r.f_match) },
          timeout_rate: { runs: Number(r.t_runs), matching: Number(r.t_match) },
          lock_contention: { runs: Number(r.l_runs), matching: Number(r.l_match) },
        },
      ]),
    );
  }

  async deadLetterBacklog(): Promise<{ pending: number; oldestPendingAt: Date | null }> {
    const [row] = await queryRows<{ pending: DbNumber; oldest: DbTime | null }>(
      this.db,
      sql`SELECT count(*) AS pending, min(created_at) AS oldest FROM cron_dead_letters WHERE recovery_status = ${PENDING}`,
    );
    return { pending: Number(row?.pending ?? 0), oldestPendingAt: toDateOrNull(row?.oldest) };
  }

  async staleLeases(olderThanMs: number): Promise<StaleLease[]> {
    // By the database clock, as lease expiry always is.
    const rows = await queryRows<{ job_name: string; run_id: string; holder: string; expired_ms: DbNumber }>(
      this.db,
      sql`SELECT job_name, run_id, holder, (EXTRACT(EPOCH FROM (now() - expires_at)) * 1000)::int8 AS expired_ms
            FROM cron_job_leases WHERE expires_at < now() - ${olderThanMs}::int8 * interval '1 millisecond'
           ORDER BY expires_at`,
    );
    return rows.map((r) => ({ jobName: r.job_name, runId: r.run_id, holder: r.holder, expiredMs: Number(r.expired_ms) }));
  }
}
