import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";
import { jsonValue, toDate, toDateOrNull, type DbTime } from "./rows";

/**
 * cron_monitors: the open/closed state of the conditions the tick evaluates (threshold alerts,
 * the tick watch). A monitor is open while its row exists. The alert policy is the caller's:
 * alert (kind, incidentId) when `opened` (and per the re-alert window while it stays open),
 * and one `recovered` alert with the same incident when closeMonitor returns it.
 */

/** A job's name, or this for a system-wide monitor (its one home is the monitors' port). */
export { SYSTEM_MONITOR } from "../monitors/store";

export interface OpenMonitor {
  jobName: string;
  kind: string;
  incidentId: string;
  openedAt: Date;
  checkedAt: Date;
  value: number | null;
  detail: Record<string, unknown> | null;
  /** The last alert sent for this incident (markMonitorsAlerted); null: none yet. */
  alertedAt: Date | null;
}

interface MonitorRow {
  job_name: string;
  kind: string;
  incident_id: string;
  opened_at: DbTime;
  checked_at: DbTime;
  value: number | string | null;
  detail: unknown;
  alerted_at: DbTime | null;
  opened?: boolean;
}

const monitorOf = (r: MonitorRow): OpenMonitor => ({
  jobName: r.job_name,
  kind: r.kind,
  incidentId: r.incident_id,
  openedAt: toDate(r.opened_at),
  checkedAt: toDate(r.checked_at),
  value: r.value == null ? null : Number(r.value),
  detail: jsonValue<Record<string, unknown>>(r.detail),
  alertedAt: toDateOrNull(r.alerted_at),
});

const COLUMNS = sql.raw("job_name, kind, incident_id, opened_at, checked_at, value, detail, alerted_at");

/**
 * Records the condition as holding at `at`: opens the monitor (opened: true, a new incident)
 * or refreshes the open one (opened: false, its incident kept). One statement, so two ticks at
 * once open it once.
 */
export async function openMonitor(db: Db, m: { jobName: string; kind: string; at: Date; value?: number | null; detail?: Record<string, unknown> | null }): Promise<OpenMonitor & { opened: boolean }> {
  const at = m.at.toISOString();
  const [row] = await queryRows<MonitorRow>(
    db,
    sql`INSERT INTO cron_monitors (job_name, kind, opened_at, checked_at, value, detail)
        VALUES (${m.jobName}, ${m.kind}, ${at}::timestamptz, ${at}::timestamptz, ${m.value ?? null}::float8, ${m.detail ? JSON.stringify(m.detail) : null}::jsonb)
        ON CONFLICT (job_name, kind) DO UPDATE SET checked_at = excluded.checked_at, value = excluded.value, detail = excluded.detail
        RETURNING ${COLUMNS}, (xmax = 0) AS opened`,
  );
  return { ...monitorOf(row), opened: row.opened === true || String(row.opened) === "true" };
}

/** The condition cleared: closes the monitor and returns what was open (null when it was not). */
export async function closeMonitor(db: Db, m: { jobName: string; kind: string }): Promise<OpenMonitor | null> {
  const [row] = await queryRows<MonitorRow>(
    db,
    sql`DELETE FROM cron_monitors WHERE job_name = ${m.jobName} AND kind = ${m.kind}
        RETURNING ${COLUMNS}`,
  );
  return row ? monitorOf(row) : null;
}

/** Every open monitor (optionally of one job, system-wide ones under SYSTEM_MONITOR), oldest first. */
export async function openMonitors(db: Db, jobName?: string): Promise<OpenMonitor[]> {
  const rows = await queryRows<MonitorRow>(
    db,
    jobName === undefined
      ? sql`SELECT ${COLUMNS} FROM cron_monitors ORDER BY opened_at, job_name, kind`
      : sql`SELECT ${COLUMNS} FROM cron_monitors WHERE job_name = ${jobName} ORDER BY opened_at, kind`,
  );
  return rows.map(monitorOf);
}

/**
 * Records that the open incidents' alerts went out at `at` (one statement for all): the re-alert
 * window of each counts from here. A monitor closed (or re-opened under a new incident) since is
 * left alone: the incident id must still match.
 */
export async function markMonitorsAlerted(db: Db, monitors: ReadonlyArray<{ jobName: string; kind: string; incidentId: string }>, at: Date): Promise<void> {
  if (monitors.length === 0) return;
  await db.execute(
    sql`UPDATE cron_monitors m SET alerted_at = ${at.toISOString()}::timestamptz
          FROM jsonb_to_recordset(${JSON.stringify(monitors.map((m) => ({ job_name: m.jobName, kind: m.kind, incident_id: m.incidentId })))}::jsonb)
               AS v(job_name text, kind text, incident_id uuid)
         WHERE m.job_name = v.job_name AND m.kind = v.kind AND m.incident_id = v.incident_id`,
  );
}

/**
 * openMonitor for many conditions in one statement (the tick's batch): each opened (a new
 * incident) or refreshed, in the order given. Each (job, kind) at most once per call.
 */
export async function holdMonitors(
  db: Db,
  monitors: ReadonlyArray<{ jobName: string; kind: string; at: Date; value?: number | null; detail?: Record<string, unknown> | null }>,
): Promise<Array<OpenMonitor & { opened: boolean }>> {
  if (monitors.length === 0) return [];
  const rows = await queryRows<MonitorRow>(
    db,
    sql`INSERT INTO cron_monitors (job_name, kind, opened_at, checked_at, value, detail)
        SELECT v.job_name, v.kind, v.at, v.at, v.value, v.detail
          FROM jsonb_to_recordset(${JSON.stringify(monitors.map((m) => ({ job_name: m.jobName, kind: m.kind, at: m.at.toISOString(), value: m.value ?? null, detail: m.detail ?? null })))}::jsonb)
               AS v(job_name text, kind text, at timestamptz, value float8, detail jsonb)
        ON CONFLICT (job_name, kind) DO UPDATE SET checked_at = excluded.checked_at, value = excluded.value, detail = excluded.detail
        RETURNING ${COLUMNS}, (xmax = 0) AS opened`,
  );
  const byKey = new Map(rows.map((r) => [`${r.job_name}\u0000${r.kind}`, { ...monitorOf(r), opened: r.opened === true || String(r.opened) === "true" }]));
  return monitors.map((m) => byKey.get(`${m.jobName}\u0000${m.kind}`)!);
}
