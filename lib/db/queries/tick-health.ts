import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import type { AlertKind } from "../../cron/vocabulary";
import { SYSTEM_MONITOR } from "../monitors";
import { isoOrNull, jsonValue, num, toDateOrNull, type DbNumber, type DbTime } from "../rows";

/** The name the tick's own runs are logged under (lib/cron/tick.ts tickJob). */
const TICK_JOB = "crondeck-tick";
/** The system monitor the tick watch keeps open while the tick is late (lib/app/tick-watch.ts). */
const TICK_LATE_KIND: AlertKind = "tick_late";

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
  /**
   * The open tick_late watch (cron_monitors, system-wide), as the last check left it: since when
   * the tick has been late and when that was last alerted. Null when none is open.
   */
  incident: { incidentId: string; openedAt: string; alertedAt: string | null } | null;
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
  incident_id: string | null;
  incident_opened_at: DbTime | null;
  incident_alerted_at: string | null;
}

/**
 * The tick's health at `now` from its own runs in cron_job_logs and the open tick_late watch
 * (one round trip, on idx_cron_logs_job_started and cron_monitors' key). `expectedEveryMs` and `graceMs` are the plan's: the tick is late
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
               -- Only asked when the tick never ran (an InitPlan runs on first use): a scan for old runs of
               -- other jobs is free on a new install and would cost milliseconds on a big log.
               CASE WHEN last.id IS NULL THEN EXISTS (SELECT 1 FROM cron_job_logs o WHERE o.job_name <> ${TICK_JOB} AND o.started_at < ${now}::timestamptz - ${lateAfterMs}::int8 * interval '1 millisecond') ELSE false END AS other_before,
               m.incident_id, m.opened_at AS incident_opened_at, m.detail ->> 'alertedAt' AS incident_alerted_at
          FROM (SELECT 1) AS one
          LEFT JOIN cron_monitors m ON m.job_name = ${SYSTEM_MONITOR} AND m.kind = ${TICK_LATE_KIND}
          LEFT JOIN LATERAL (
            SELECT l.id, l.status, l.started_at, l.completed_at, l.duration_ms, l.output
              FROM cron_job_logs l
             WHERE l.job_name = ${TICK_JOB} AND l.status <> 'skipped'
             -- NULLS LAST as in idx_cron_logs_job_started: without it the planner cannot walk the index
             -- and sorts every tick run (measured with 30 days of minute ticks, 43,200 rows, and 100k
             -- other runs: the whole reading took 83 ms at p50, 4 ms with the index walked).
             ORDER BY l.started_at DESC NULLS LAST
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
    incident:
      row?.incident_id && row.incident_opened_at
        ? { incidentId: row.incident_id, openedAt: toDateOrNull(row.incident_opened_at)!.toISOString(), alertedAt: row.incident_alerted_at && !Number.isNaN(Date.parse(row.incident_alerted_at)) ? new Date(row.incident_alerted_at).toISOString() : null }
        : null,
  };
}

/** At most this many entries of each list of a tick's report are returned (the counts are whole). */
export const TICK_REPORT_LIST_LIMIT = 20;

/** One entry of a tick's report, as the admin API and the dashboard show it. */
export interface TickReportView {
  abandoned: Array<{ jobName: string; runId: string | null; holder: string | null; heldForSeconds: number | null }>;
  retries: Array<{ jobName: string; runId: string | null; status: number | null; error: string | null }>;
  orphaned: Array<{ jobName: string; runId: string | null; error: string | null }>;
  missed: Array<{ jobName: string; slots: number; lastSlot: string | null; policy: string | null; catchUps: number }>;
  dispatched: Array<{ jobName: string; trigger: string | null; slot: string | null; status: number | null; error: string | null }>;
  errors: Array<{ scope: string; error: string }>;
}

/** One run of the tick with what it did (seed 002's recovery runs). */
export interface TickRun {
  id: string;
  status: string;
  scheduledFor: string | null;
  startedAt: string;
  completedAt: string | null;
  durationMs: number | null;
  holder: string | null;
  work: TickWork | null;
  report: TickReportView | null;
}

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const numberOr = (value: unknown, fallback: number | null): number | null => (typeof value === "number" && Number.isFinite(value) ? value : fallback);
const objects = (value: unknown): Array<Record<string, unknown>> =>
  (Array.isArray(value) ? value : []).slice(0, TICK_REPORT_LIST_LIMIT).filter((v): v is Record<string, unknown> => Boolean(v) && typeof v === "object");
const requestOf = (entry: Record<string, unknown>): Record<string, unknown> => (entry.request && typeof entry.request === "object" ? (entry.request as Record<string, unknown>) : {});

/**
 * A tick run's output (TickReport, or `{ errors }` from a tick that hit its deadline) as lists
 * the dashboard can show, each at most TICK_REPORT_LIST_LIMIT long; unknown shapes give null.
 */
export function tickReportOf(output: unknown): TickReportView | null {
  if (!output || typeof output !== "object" || Array.isArray(output)) return null;
  const o = output as Record<string, unknown>;
  return {
    abandoned: objects(o.abandoned).map((a) => ({ jobName: str(a.jobName) ?? "?", runId: str(a.runId), holder: str(a.holder), heldForSeconds: numberOr(a.heldForSeconds, null) })),
    retries: objects(o.retries).map((r) => ({ jobName: str(requestOf(r).jobName) ?? "?", runId: str(requestOf(r).runId), status: numberOr(r.status, null), error: str(r.error) })),
    orphaned: objects(o.orphaned).map((r) => ({ jobName: str(r.jobName) ?? "?", runId: str(r.runId), error: str(r.error) })),
    missed: objects(o.missed).map((m) => {
      const slots = Array.isArray(m.slots) ? m.slots : [];
      return { jobName: str(m.jobName) ?? "?", slots: slots.length, lastSlot: str(slots[slots.length - 1]), policy: str(m.policy), catchUps: numberOr(m.catchUps, 0) ?? 0 };
    }),
    dispatched: objects(o.dispatched).map((d) => ({ jobName: str(requestOf(d).jobName) ?? "?", trigger: str(requestOf(d).trigger), slot: str(requestOf(d).slot), status: numberOr(d.status, null), error: str(d.error) })),
    errors: objects(o.errors).map((e) => ({ scope: str(e.scope) ?? "tick", error: str(e.error) ?? "" })),
  };
}

interface TickRunRow {
  id: string;
  status: string;
  scheduled_for: DbTime | null;
  started_at: DbTime;
  completed_at: DbTime | null;
  duration_ms: DbNumber | null;
  holder: string | null;
  output: unknown;
}

/**
 * The tick's latest runs, newest first, with their reports (duplicate deliveries' skips left
 * out: they did nothing). `before` pages back: runs that started before it.
 */
export async function tickRuns(db: Db, opts: { limit: number; before?: Date | null }): Promise<TickRun[]> {
  const limit = Math.max(1, Math.min(200, Math.floor(opts.limit)));
  const before = opts.before ? sql`AND l.started_at < ${opts.before.toISOString()}::timestamptz` : sql``;
  const rows = await queryRows<TickRunRow>(
    db,
    sql`SELECT l.id, l.status, l.scheduled_for, l.started_at, l.completed_at, l.duration_ms, l.holder, l.output
          FROM cron_job_logs l
         WHERE l.job_name = ${TICK_JOB} AND l.status <> 'skipped' ${before}
         ORDER BY l.started_at DESC NULLS LAST
         LIMIT ${limit}`,
  );
  return rows.map((r) => {
    const output = jsonValue(r.output);
    return {
      id: r.id,
      status: r.status,
      scheduledFor: isoOrNull(r.scheduled_for),
      startedAt: toDateOrNull(r.started_at)!.toISOString(),
      completedAt: isoOrNull(r.completed_at),
      durationMs: r.duration_ms == null ? null : num(r.duration_ms),
      holder: r.holder,
      work: tickWorkOf(output),
      report: tickReportOf(output),
    };
  });
}
