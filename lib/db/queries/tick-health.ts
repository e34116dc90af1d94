import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { isoOrNull, jsonValue, num, toDateOrNull, type DbNumber, type DbTime } from "../rows";

/** The name the tick's own runs are logged under (lib/cron/tick.ts tickJob). */
const TICK_JOB = "crondeck-tick";

/** What the tick's last run did, counted from its report (the run's output). */
export interface TickWork {
  abandoned: number;
  retries: number;
  orphaned: number;
  missed: number;
  dispatched: number;
  errors: number;
}

/** The tick's own health: when it last ran, how late it is, what it did. */
export interface TickHealth {
  /** How often the tick is expected (every minute on Pro, daily on Hobby). */
  expectedEveryMs: number;
  /** Past this long since the last tick run started, the tick is late. */
  lateAfterMs: number;
  /** The latest tick run that ran (not a duplicate delivery's skip). */
  lastRun: { id: string; status: string; startedAt: string; completedAt: string | null; durationMs: number | null; work: TickWork | null } | null;
  /** now - lastRun.startedAt, ms; null when it never ran. */
  lagMs: number | null;
  /**
   * ok: ran within lateAfterMs; late: it did not; never: no tick run is logged (late too, once
   * other runs exist older than lateAfterMs: the app is in use and nothing housekeeps it).
   */
  state: "ok" | "late" | "never";
  late: boolean;
  /** Tick runs in the last 24 hours, and how many of them reported errors. */
  runs24h: number;
  runsWithErrors24h: number;
}

const count = (value: unknown): number => (Array.isArray(value) ? value.length : 0);

/** The tick's report (TickReport, or `{ errors }` from a tick that hit its deadline) as counts. */
export function tickWorkOf(output: unknown): TickWork | null {
  if (!output || typeof output !== "object") return null;
  const o = output as Record<string, unknown>;
  return { abandoned: count(o.abandoned), retries: count(o.retries), orphaned: count(o.orphaned), missed: count(o.missed), dispatched: count(o.dispatched), errors: count(o.errors) };
}

interface TickRow {
  id: string | null;
  status: string | null;
  started_at: DbTime | null;
  completed_at: DbTime | null;
  duration_ms: DbNumber | null;
  output: unknown;
  runs_24h: DbNumber;
  errors_24h: DbNumber;
  other_before: boolean;
}

/**
 * The tick's health at `now` from its own runs in cron_job_logs (one round trip, on
 * idx_cron_logs_job_started). `expectedEveryMs` and `graceMs` are the plan's: the tick is late
 * once a whole interval and the plan's delivery grace have passed without a tick run.
 */
export async function tickHealth(db: Db, opts: { now: Date; expectedEveryMs: number; graceMs: number }): Promise<TickHealth> {
  const lateAfterMs = opts.expectedEveryMs + opts.graceMs;
  const now = opts.now.toISOString();
  const [row] = await queryRows<TickRow>(
    db,
    sql`SELECT last.id, last.status, last.started_at, last.completed_at, last.duration_ms, last.output,
               (SELECT count(*) FROM cron_job_logs d WHERE d.job_name = ${TICK_JOB} AND d.status <> 'skipped' AND d.started_at > ${now}::timestamptz - interval '24 hours') AS runs_24h,
               (SELECT count(*) FROM cron_job_logs d WHERE d.job_name = ${TICK_JOB} AND d.status <> 'skipped' AND d.started_at > ${now}::timestamptz - interval '24 hours'
                   AND jsonb_typeof(d.output -> 'errors') = 'array' AND jsonb_array_length(d.output -> 'errors') > 0) AS errors_24h,
               EXISTS (SELECT 1 FROM cron_job_logs o WHERE o.job_name <> ${TICK_JOB} AND o.started_at < ${now}::timestamptz - ${lateAfterMs}::int8 * interval '1 millisecond') AS other_before
          FROM (SELECT 1) AS one
          LEFT JOIN LATERAL (
            SELECT l.id, l.status, l.started_at, l.completed_at, l.duration_ms, l.output
              FROM cron_job_logs l
             WHERE l.job_name = ${TICK_JOB} AND l.status <> 'skipped'
             ORDER BY l.started_at DESC
             LIMIT 1
          ) AS last ON true`,
  );
  const startedAt = toDateOrNull(row?.started_at ?? null);
  const lagMs = startedAt ? Math.max(0, opts.now.getTime() - startedAt.getTime()) : null;
  const state: TickHealth["state"] = lagMs === null ? "never" : lagMs > lateAfterMs ? "late" : "ok";
  return {
    expectedEveryMs: opts.expectedEveryMs,
    lateAfterMs,
    lastRun:
      row?.id && startedAt
        ? { id: row.id, status: row.status ?? "started", startedAt: startedAt.toISOString(), completedAt: isoOrNull(row.completed_at), durationMs: row.duration_ms == null ? null : num(row.duration_ms), work: tickWorkOf(jsonValue(row.output)) }
        : null,
    lagMs,
    state,
    late: state === "late" || (state === "never" && Boolean(row?.other_before)),
    runs24h: num(row?.runs_24h ?? 0),
    runsWithErrors24h: num(row?.errors_24h ?? 0),
  };
}
