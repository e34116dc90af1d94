import { sql, type SQL } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { iso, isoOrNull, jsonValue, num, type DbNumber, type DbTime } from "../rows";

/**
 * Dead-letter insight (seed 000's DLQ dashboard): entries per day, the most common failure
 * reasons grouped by their fingerprint, and the time from dead letter to recovery, per job and
 * overall. The admin API, the dashboard, `crondeck dlq insight` and the daily digest read it here.
 *
 * Reasons are grouped by crondeck_error_fingerprint (drizzle/0012_dead_letter_insight.sql), the
 * one home of the fingerprint rule, so every reader groups the same way.
 */

/** The window's bounds: ?days= in the API, --days in the CLI. */
export const INSIGHT_DEFAULT_DAYS = 30;
export const INSIGHT_MAX_DAYS = 366;
/** Reasons listed, most common first. */
export const INSIGHT_TOP_REASONS = 10;
/** An example message is clipped to this many characters. */
const EXAMPLE_CHARS = 500;
const DAY_MS = 86_400_000;

/** One fingerprint: the entries whose reasons differ only in values. */
export interface FailureReasonGroup {
  /** The reason with its values replaced (`timed out after <n> ms`). */
  fingerprint: string;
  entries: number;
  /** Of those, still pending. */
  pending: number;
  /** The jobs it happened in, by name. */
  jobs: string[];
  /** The newest entry's reason as stored (already redacted when recorded), clipped. */
  example: string;
  lastSeenAt: string;
}

/** Counts and recovery times of a set of entries (one job's, or all of the window's). */
export interface DeadLetterTally {
  entries: number;
  pending: number;
  /** Replayed successfully or resolved. */
  recovered: number;
  permanentlyFailed: number;
  /** Average time from the dead letter to its recovery (created -> settled), over the recovered entries; null without any. */
  avgRecoveryMs: number | null;
  /** Average time from the dead letter to any settlement (recovered or permanently failed); null without any. */
  avgSettleMs: number | null;
}

export interface DeadLetterInsight {
  /** The window: whole UTC days, `days` of them, the last one today. */
  window: { days: number; since: string; until: string; jobName: string | null };
  totals: DeadLetterTally;
  /** Every day of the window, oldest first, days without entries included (UTC dates, YYYY-MM-DD). */
  perDay: Array<{ day: string; entries: number }>;
  topReasons: FailureReasonGroup[];
  /** Jobs with entries in the window, most entries first. */
  perJob: Array<DeadLetterTally & { jobName: string }>;
}

interface GroupRow {
  fingerprint: string;
  entries: DbNumber;
  pending: DbNumber;
  jobs: unknown;
  example: string;
  last_seen_at: DbTime;
}

/**
 * The most common reasons among the entries `where` selects (a condition on cron_dead_letters d).
 * The entries are first grouped by their exact reason and job, so the fingerprint (seven regular
 * expressions) runs once per distinct message rather than once per entry: a job that fails the
 * same way a thousand times costs one fingerprint.
 */
async function topReasons(db: Db, where: SQL, limit: number): Promise<FailureReasonGroup[]> {
  const rows = await queryRows<GroupRow>(
    db,
    sql`WITH exact AS (
          SELECT d.failure_reason, d.job_name::text AS job_name, count(*) AS entries,
                 count(*) FILTER (WHERE d.recovery_status = 'pending') AS pending, max(d.created_at) AS last_seen_at
            FROM cron_dead_letters d WHERE ${where}
           GROUP BY d.failure_reason, d.job_name)
        SELECT g.fingerprint, sum(g.entries)::int AS entries, sum(g.pending)::int AS pending,
               to_jsonb(array_agg(DISTINCT g.job_name)) AS jobs,
               left((array_agg(g.failure_reason ORDER BY g.last_seen_at DESC))[1], ${EXAMPLE_CHARS}) AS example,
               max(g.last_seen_at) AS last_seen_at
          FROM (SELECT crondeck_error_fingerprint(e.failure_reason) AS fingerprint, e.* FROM exact e) g
         GROUP BY g.fingerprint
         ORDER BY entries DESC, last_seen_at DESC, g.fingerprint
         LIMIT ${limit}`,
  );
  return rows.map((r) => ({
    fingerprint: r.fingerprint,
    entries: num(r.entries),
    pending: num(r.pending),
    jobs: [...(jsonValue<string[]>(r.jobs) ?? [])].sort(),
    example: r.example,
    lastSeenAt: iso(r.last_seen_at),
  }));
}

/** The first instant of the window: midnight UTC, `days - 1` days before today's. */
export function insightSince(now: Date, days: number): Date {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  return new Date(today - (days - 1) * DAY_MS);
}

interface TallyRow {
  job_name: string | null;
  is_total: boolean;
  entries: DbNumber;
  pending: DbNumber;
  recovered: DbNumber;
  permanently_failed: DbNumber;
  avg_recovery_ms: DbNumber | null;
  avg_settle_ms: DbNumber | null;
}

const tallyOf = (r: TallyRow | undefined): DeadLetterTally => ({
  entries: num(r?.entries),
  pending: num(r?.pending),
  recovered: num(r?.recovered),
  permanentlyFailed: num(r?.permanently_failed),
  avgRecoveryMs: r?.avg_recovery_ms == null ? null : Math.round(num(r.avg_recovery_ms)),
  avgSettleMs: r?.avg_settle_ms == null ? null : Math.round(num(r.avg_settle_ms)),
});

/**
 * The insight over entries dead-lettered in the last `days` whole UTC days (today included),
 * of one job or all. `now` is the caller's clock (tests move it).
 */
export async function deadLetterInsight(db: Db, opts: { days: number; jobName?: string | null; now: Date }): Promise<DeadLetterInsight> {
  const since = insightSince(opts.now, opts.days);
  const jobName = opts.jobName ?? null;
  const where = sql`d.created_at >= ${since.toISOString()}::timestamptz AND d.created_at <= ${opts.now.toISOString()}::timestamptz
    AND (${jobName}::text IS NULL OR d.job_name = ${jobName})`;
  const recoveredMs = sql`extract(epoch FROM d.resolved_at - d.created_at) * 1000`;

  const [days, tallies, reasons] = await Promise.all([
    queryRows<{ day: string; entries: DbNumber }>(
      db,
      sql`SELECT to_char((d.created_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, count(*)::int AS entries
            FROM cron_dead_letters d WHERE ${where} GROUP BY 1`,
    ),
    // One pass: a row per job and the total row (GROUPING SETS), the averages over exact rows.
    queryRows<TallyRow>(
      db,
      sql`SELECT d.job_name, grouping(d.job_name) = 1 AS is_total, count(*)::int AS entries,
                 count(*) FILTER (WHERE d.recovery_status = 'pending')::int AS pending,
                 count(*) FILTER (WHERE d.recovery_status IN ('replayed', 'resolved'))::int AS recovered,
                 count(*) FILTER (WHERE d.recovery_status = 'permanently_failed')::int AS permanently_failed,
                 avg(${recoveredMs}) FILTER (WHERE d.recovery_status IN ('replayed', 'resolved') AND d.resolved_at IS NOT NULL)::float8 AS avg_recovery_ms,
                 avg(${recoveredMs}) FILTER (WHERE d.recovery_status <> 'pending' AND d.resolved_at IS NOT NULL)::float8 AS avg_settle_ms
            FROM cron_dead_letters d WHERE ${where}
           GROUP BY GROUPING SETS ((d.job_name), ())`,
    ),
    topReasons(db, where, INSIGHT_TOP_REASONS),
  ]);

  const byDay = new Map(days.map((r) => [r.day, num(r.entries)]));
  const perDay: DeadLetterInsight["perDay"] = [];
  for (let i = 0; i < opts.days; i++) {
    const day = new Date(since.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    perDay.push({ day, entries: byDay.get(day) ?? 0 });
  }
  const total = tallies.find((r) => r.is_total);
  const perJob = tallies
    .filter((r) => !r.is_total && r.job_name !== null)
    .map((r) => ({ jobName: r.job_name as string, ...tallyOf(r) }))
    .sort((a, b) => b.entries - a.entries || a.jobName.localeCompare(b.jobName));

  return {
    window: { days: opts.days, since: since.toISOString(), until: opts.now.toISOString(), jobName },
    totals: tallyOf(total),
    perDay,
    topReasons: reasons,
    perJob,
  };
}

/** What the daily digest says: the pending entries now, whenever they were dead-lettered. */
export interface PendingDigest {
  pending: number;
  /** The oldest pending entry, when there is one. */
  oldest: { jobName: string; createdAt: string } | null;
  topReasons: FailureReasonGroup[];
}

export async function pendingDigest(db: Db, opts: { topReasons?: number } = {}): Promise<PendingDigest> {
  const where = sql`d.recovery_status = 'pending'`;
  const [[head], reasons] = await Promise.all([
    queryRows<{ pending: DbNumber; oldest_job: string | null; oldest_at: DbTime | null }>(
      db,
      sql`SELECT count(*)::int AS pending, (array_agg(d.job_name ORDER BY d.created_at, d.id))[1] AS oldest_job, min(d.created_at) AS oldest_at
            FROM cron_dead_letters d WHERE ${where}`,
    ),
    topReasons(db, where, opts.topReasons ?? 5),
  ]);
  const pending = num(head?.pending);
  const oldestAt = isoOrNull(head?.oldest_at);
  return { pending, oldest: pending > 0 && head?.oldest_job && oldestAt ? { jobName: head.oldest_job, createdAt: oldestAt } : null, topReasons: reasons };
}
