import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { iso, num, numOrNull, toDate, type DbNumber, type DbTime } from "../rows";

/**
 * What the contention test (`crondeck stress`) reads back: every trigger it sent left a row
 * tagged with its code version, so the database judges whether a slot ran twice.
 */

/** Whether the job has a config row (the test drops the one it created, and only that). */
export async function hasConfigRow(db: Db, jobName: string): Promise<boolean> {
  const [row] = await queryRows<{ n: DbNumber }>(db, sql`SELECT count(*)::int AS n FROM cron_job_config WHERE job_name = ${jobName}`);
  return num(row?.n) > 0;
}

/** The slots of the job since `since` that have a row already (an earlier test, real runs). */
export async function slotsWithRows(db: Db, jobName: string, since: Date): Promise<Date[]> {
  const rows = await queryRows<{ slot: DbTime }>(
    db,
    sql`SELECT DISTINCT scheduled_for AS slot FROM cron_job_logs WHERE job_name = ${jobName} AND scheduled_for >= ${since.toISOString()}::timestamptz`,
  );
  return rows.map((r) => toDate(r.slot));
}

export interface TaggedCounts {
  rows: number;
  executions: number;
  completed: number;
  failed: number;
  skipped: number;
  /** Over the runs whose holder recorded their end, as every duration figure counts them (crondeck_counts_duration, 0016). */
  averageDurationMs: number | null;
}

/** The rows the test's instances wrote (tagged `codeVersion`), by outcome. */
export async function taggedCounts(db: Db, jobName: string, codeVersion: string): Promise<TaggedCounts> {
  const [r] = await queryRows<Record<string, DbNumber | null>>(
    db,
    sql`SELECT count(*)::int AS rows,
               count(*) FILTER (WHERE status NOT IN ('skipped', 'missed'))::int AS executions,
               count(*) FILTER (WHERE status = 'completed')::int AS completed,
               count(*) FILTER (WHERE status IN ('failed', 'timed_out', 'abandoned'))::int AS failed,
               count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
               avg(duration_ms) FILTER (WHERE crondeck_counts_duration(status))::float8 AS avg_duration_ms
        FROM cron_job_logs WHERE job_name = ${jobName} AND code_version = ${codeVersion}`,
  );
  return { rows: num(r.rows), executions: num(r.executions), completed: num(r.completed), failed: num(r.failed), skipped: num(r.skipped), averageDurationMs: numOrNull(r.avg_duration_ms) };
}

const inSlots = (slots: readonly string[]) => sql`scheduled_for IN (SELECT value::timestamptz FROM jsonb_array_elements_text(${JSON.stringify(slots)}::jsonb))`;

/** Slots (of those given) with more than one run, whoever made them, newest first. */
export async function duplicateSlots(db: Db, jobName: string, slots: readonly string[]): Promise<Array<{ slot: string; runs: number }>> {
  const rows = await queryRows<{ slot: DbTime; runs: DbNumber }>(
    db,
    sql`SELECT scheduled_for AS slot, count(*)::int AS runs FROM cron_job_logs
        WHERE job_name = ${jobName} AND status NOT IN ('skipped', 'missed') AND ${inSlots(slots)}
        GROUP BY scheduled_for HAVING count(*) > 1 ORDER BY scheduled_for DESC`,
  );
  return rows.map((r) => ({ slot: iso(r.slot), runs: num(r.runs) }));
}

/** Of the slots given: how many have a run, and how many had one from before the test (not tagged `codeVersion`). */
export async function slotsRun(db: Db, jobName: string, slots: readonly string[], codeVersion: string): Promise<{ withRun: number; runBeforeTest: number }> {
  const [r] = await queryRows<{ with_run: DbNumber; before: DbNumber }>(
    db,
    sql`SELECT count(DISTINCT scheduled_for) FILTER (WHERE status NOT IN ('skipped', 'missed'))::int AS with_run,
               count(DISTINCT scheduled_for) FILTER (WHERE status NOT IN ('skipped', 'missed') AND code_version IS DISTINCT FROM ${codeVersion})::int AS before
        FROM cron_job_logs WHERE job_name = ${jobName} AND ${inSlots(slots)}`,
  );
  return { withRun: num(r.with_run), runBeforeTest: num(r.before) };
}
