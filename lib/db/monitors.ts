import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";
import { jsonValue, toDate, type DbTime } from "./rows";

/**
 * cron_monitors: the open/closed state of the conditions the tick evaluates (threshold alerts,
 * the tick watch). A monitor is open while its row exists. The alert policy is the caller's:
 * alert (kind, incidentId) when `opened` (and per the re-alert window while it stays open),
 * and one `recovered` alert with the same incident when closeMonitor returns it.
 */

/** A job's name, or this for a system-wide monitor. */
export const SYSTEM_MONITOR = "*";

export interface OpenMonitor {
  jobName: string;
  kind: string;
  incidentId: string;
  openedAt: Date;
  checkedAt: Date;
  value: number | null;
  detail: Record<string, unknown> | null;
}

interface MonitorRow {
  job_name: string;
  kind: string;
  incident_id: string;
  opened_at: DbTime;
  checked_at: DbTime;
  value: number | string | null;
  detail: unknown;
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
});

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
        RETURNING job_name, kind, incident_id, opened_at, checked_at, value, detail, (xmax = 0) AS opened`,
  );
  return { ...monitorOf(row), opened: row.opened === true || String(row.opened) === "true" };
}

/** The condition cleared: closes the monitor and returns what was open (null when it was not). */
export async function closeMonitor(db: Db, m: { jobName: string; kind: string }): Promise<OpenMonitor | null> {
  const [row] = await queryRows<MonitorRow>(
    db,
    sql`DELETE FROM cron_monitors WHERE job_name = ${m.jobName} AND kind = ${m.kind}
        RETURNING job_name, kind, incident_id, opened_at, checked_at, value, detail`,
  );
  return row ? monitorOf(row) : null;
}

/** Every open monitor (optionally of one job, system-wide ones under SYSTEM_MONITOR), oldest first. */
export async function openMonitors(db: Db, jobName?: string): Promise<OpenMonitor[]> {
  const rows = await queryRows<MonitorRow>(
    db,
    jobName === undefined
      ? sql`SELECT job_name, kind, incident_id, opened_at, checked_at, value, detail FROM cron_monitors ORDER BY opened_at, job_name, kind`
      : sql`SELECT job_name, kind, incident_id, opened_at, checked_at, value, detail FROM cron_monitors WHERE job_name = ${jobName} ORDER BY opened_at, kind`,
  );
  return rows.map(monitorOf);
}
