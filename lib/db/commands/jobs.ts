import { sql } from "drizzle-orm";
import type { Actor } from "../../cron/vocabulary";
import { toRuntimeState, type ConfigRow, type JobRuntimeState } from "../queries/jobs";
import { queryRows, type Db } from "../client";
import { writeAudit } from "./audit";

/** Enables or disables a job through the seed's toggle_cron_job (no audit row: see setJobEnabled). */
async function toggleJob(db: Db, jobName: string, enabled: boolean, actor: string): Promise<void> {
  await db.execute(sql`SELECT toggle_cron_job(${jobName}, ${enabled}, ${actor})`);
}

/**
 * Pauses or resumes jobs (creating their config rows; `enabled` stays NULL = as defined).
 * Returns each job's config row as it is now (RETURNING *), and whether its paused flag changed,
 * by name. A pause keeps `note` as its reason; pausing a job that is paused already keeps its
 * reason and its paused_at unless a new note is given.
 * No audit row: see pauseJob and pauseJobs.
 */
async function setPaused(db: Db, jobNames: readonly string[], paused: boolean, actor: string, note?: string | null): Promise<Array<ConfigRow & { job_name: string; changed: boolean }>> {
  if (jobNames.length === 0) return [];
  const reason = paused ? (note ?? `paused by ${actor}`) : null;
  return queryRows<ConfigRow & { job_name: string; changed: boolean }>(
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
          RETURNING c.*
        )
        SELECT up.*, coalesce(b.paused, false) IS DISTINCT FROM ${paused} AS changed
        FROM up LEFT JOIN before b ON b.job_name = up.job_name
        ORDER BY up.job_name`,
  );
}

/**
 * Resumes a job paused by dead letters (or by hand) and resets its failure counters: the
 * incident ends, the next failure starts a new one. No audit row: see recoverJob.
 */
async function clearJobFailures(db: Db, jobName: string, actor: string): Promise<{ wasDeadLettered: boolean; wasPaused: boolean }> {
  const [row] = await queryRows<{ was_dead_lettered: boolean | null; was_paused: boolean | null }>(
    db,
    sql`WITH before AS (SELECT dead_lettered, paused FROM cron_job_config WHERE job_name = ${jobName})
        INSERT INTO cron_job_config AS c (job_name, enabled, last_modified_at, last_modified_by)
        VALUES (${jobName}, NULL, now(), ${actor})
        ON CONFLICT (job_name) DO UPDATE SET
          dead_lettered = false, dead_letter_reason = NULL, dead_lettered_since = NULL,
          paused = false, paused_reason = NULL, paused_at = NULL,
          consecutive_failures = 0, consecutive_dead_letters = 0, incident_id = NULL,
          last_modified_at = now(), last_modified_by = ${actor}
        RETURNING (SELECT dead_lettered FROM before) AS was_dead_lettered, (SELECT paused FROM before) AS was_paused`,
  );
  return { wasDeadLettered: Boolean(row?.was_dead_lettered), wasPaused: Boolean(row?.was_paused) };
}

/** Enables or disables a job, with its audit row (job.enable / job.disable). */
export async function setJobEnabled(tx: Db, actor: Actor, input: { jobName: string; enabled: boolean }): Promise<void> {
  await toggleJob(tx, input.jobName, input.enabled, actor.name);
  await writeAudit(tx, actor, input.enabled ? "job.enable" : "job.disable", input.jobName, { enabled: input.enabled });
}

export interface PauseInput {
  jobName: string;
  /** The job's own default (defineJob's `enabled`), for the state read back. */
  enabledByDefault: boolean;
  paused: boolean;
  note: string | null;
}

/** A pause or resume of one job: whether it changed anything, and the job's state after it. */
export interface PauseResult {
  changed: boolean;
  state: JobRuntimeState;
}

/** Pauses or resumes one job (setPaused's rule for the reason), with its audit row (job.pause / job.resume). */
export async function pauseJob(tx: Db, actor: Actor, input: PauseInput): Promise<PauseResult> {
  const [row] = await setPaused(tx, [input.jobName], input.paused, actor.name, input.note);
  const changed = Boolean(row.changed);
  await writeAudit(tx, actor, input.paused ? "job.pause" : "job.resume", input.jobName, { note: input.note, changed });
  // The upsert's own row: the state after it, without reading the row again.
  return { changed, state: toRuntimeState(row, input.enabledByDefault) };
}

/** Pauses or resumes every job named, with one audit row (job.pause_all / job.resume_all) listing the ones that changed. */
export async function pauseJobs(tx: Db, actor: Actor, input: { jobNames: readonly string[]; paused: boolean; note: string | null }): Promise<string[]> {
  const changed = (await setPaused(tx, input.jobNames, input.paused, actor.name, input.note)).filter((r) => r.changed).map((r) => r.job_name);
  await writeAudit(tx, actor, input.paused ? "job.pause_all" : "job.resume_all", null, { note: input.note, jobs: changed });
  return changed;
}

/** clearJobFailures, with its audit row (job.recover). */
export async function recoverJob(tx: Db, actor: Actor, input: { jobName: string; note: string | null }): Promise<{ wasDeadLettered: boolean; wasPaused: boolean }> {
  const result = await clearJobFailures(tx, input.jobName, actor.name);
  await writeAudit(tx, actor, "job.recover", input.jobName, { ...result, note: input.note });
  return result;
}

/** How long an Idempotency-Key of Run now names the run it first started. */
export const RUN_NOW_KEY_TTL_HOURS = 24;

/**
 * The audit row of a manual run, written before the run starts (the run's id is known ahead);
 * `input`: the run's, already scrubbed (null: the default). With an idempotency key that asked
 * for a run of this job in the last RUN_NOW_KEY_TTL_HOURS, nothing is written: the answer is that
 * run's id, `duplicate` (the same click sent twice, a retried request). Requests with one key are
 * serialised by a transaction lock, so two at once cannot both start a run.
 */
export async function recordManualRun(
  tx: Db,
  actor: Actor,
  input: { jobName: string; executionId: string; idempotencyKey: string | null; input?: unknown },
): Promise<{ executionId: string; duplicate: boolean }> {
  if (input.idempotencyKey !== null) {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`run-now:${input.jobName}:${input.idempotencyKey}`}))`);
    const [earlier] = await queryRows<{ id: string }>(
      tx,
      sql`SELECT detail ->> 'executionId' AS id FROM cron_audit_log
          WHERE action = 'job.run' AND target = ${input.jobName} AND detail ->> 'idempotencyKey' = ${input.idempotencyKey}
            AND created_at > now() - make_interval(hours => ${RUN_NOW_KEY_TTL_HOURS})
          ORDER BY created_at DESC LIMIT 1`,
    );
    if (earlier?.id) return { executionId: earlier.id, duplicate: true };
  }
  await writeAudit(tx, actor, "job.run", input.jobName, { executionId: input.executionId, idempotencyKey: input.idempotencyKey, ...(input.input == null ? {} : { input: input.input }) });
  return { executionId: input.executionId, duplicate: false };
}
