import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";


/** Enables or disables a job through the seed's toggle_cron_job. */
export async function toggleJob(db: Db, jobName: string, enabled: boolean, actor: string): Promise<void> {
  await db.execute(sql`SELECT toggle_cron_job(${jobName}, ${enabled}, ${actor})`);
}

/**
 * Pauses or resumes jobs (creating their config rows; `enabled` stays NULL = as defined).
 * Returns the names whose paused flag changed. A pause keeps `note` as its reason.
 */
export async function setPaused(db: Db, jobNames: readonly string[], paused: boolean, actor: string, note?: string | null): Promise<string[]> {
  if (jobNames.length === 0) return [];
  const reason = paused ? (note ?? `paused by ${actor}`) : null;
  const rows = await queryRows<{ job_name: string }>(
    db,
    sql`WITH names AS (SELECT DISTINCT value AS job_name FROM jsonb_array_elements_text(${JSON.stringify(jobNames)}::jsonb)),
        before AS (SELECT c.job_name, c.paused FROM cron_job_config c WHERE c.job_name IN (SELECT job_name FROM names)),
        up AS (
          INSERT INTO cron_job_config AS c (job_name, enabled, paused, paused_reason, paused_at, last_modified_at, last_modified_by)
          SELECT n.job_name, NULL, ${paused}, ${reason}::text, CASE WHEN ${paused} THEN now() END, now(), ${actor} FROM names n
          ON CONFLICT (job_name) DO UPDATE SET
            paused = excluded.paused,
            paused_reason = CASE WHEN excluded.paused AND c.paused THEN coalesce(${note ?? null}::text, c.paused_reason) ELSE excluded.paused_reason END,
            paused_at = CASE WHEN excluded.paused AND c.paused THEN c.paused_at ELSE excluded.paused_at END,
            last_modified_at = now(), last_modified_by = excluded.last_modified_by
          RETURNING c.job_name
        )
        SELECT up.job_name FROM up LEFT JOIN before b ON b.job_name = up.job_name
        WHERE coalesce(b.paused, false) IS DISTINCT FROM ${paused}
        ORDER BY up.job_name`,
  );
  return rows.map((r) => r.job_name);
}
