import { sql } from "drizzle-orm";
import type { Actor } from "../../cron/vocabulary";
import { isoArray, toRuntimeState, type ConfigRow, type JobRuntimeState } from "../queries/jobs";
import { queryRows, type Db } from "../client";
import { writeAudit } from "./audit";

/**
 * Skip-next and snooze: the writes to cron_job_config's skip_slots and snoozed_* columns that
 * crondeck_claim_run reads (drizzle/0014_schedules.sql), each with its audit row in the
 * caller's transaction. The operations (lib/app/operations/snooze.ts) decide what may be
 * written; these only write it. `now` is the operator's clock. Every skip_slots write prunes the
 * entries older than {@link SKIP_SLOT_KEEP_MS}: not at once when their slot passes, since its
 * delivery may still be on its way (a platform scheduler's delay, the tick's catch-up).
 */

/** How long a skipped slot stays in skip_slots after its time (for late deliveries of it). */
export const SKIP_SLOT_KEEP_MS = 86_400_000;

const keepAfterOf = (now: Date) => new Date(now.getTime() - SKIP_SLOT_KEEP_MS).toISOString();

/** A change to a job's skip-next or snooze state, and the job's state after it. */
export interface SnoozeWriteResult {
  changed: boolean;
  state: JobRuntimeState;
}

interface Common {
  jobName: string;
  /** The job's own default (defineJob's `enabled`), for the state read back. */
  enabledByDefault: boolean;
  now: Date;
}

/**
 * Adds `slot` to the job's skip_slots (creating its config row). Idempotent: a slot already
 * there changes nothing, not even who asked. Audit row job.skip_next with the slot and note.
 */
export async function skipSlot(tx: Db, actor: Actor, input: Common & { slot: Date; note: string | null }): Promise<SnoozeWriteResult> {
  const slot = input.slot.toISOString();
  const keepAfter = keepAfterOf(input.now);
  const [row] = await queryRows<ConfigRow & { changed: boolean }>(
    tx,
    sql`WITH before AS (SELECT c.skip_slots FROM cron_job_config c WHERE c.job_name = ${input.jobName})
        INSERT INTO cron_job_config AS c (job_name, enabled, skip_slots, skip_requested_by, last_modified_at, last_modified_by)
        VALUES (${input.jobName}, NULL, ARRAY[${slot}::timestamptz], ${actor.name}, now(), ${actor.name})
        ON CONFLICT (job_name) DO UPDATE SET
          skip_slots = ARRAY(SELECT DISTINCT s FROM unnest(c.skip_slots || excluded.skip_slots) s WHERE s > ${keepAfter}::timestamptz ORDER BY s),
          skip_requested_by = CASE WHEN ${slot}::timestamptz = ANY (c.skip_slots) THEN c.skip_requested_by ELSE excluded.skip_requested_by END,
          last_modified_at = CASE WHEN ${slot}::timestamptz = ANY (c.skip_slots) THEN c.last_modified_at ELSE now() END,
          last_modified_by = CASE WHEN ${slot}::timestamptz = ANY (c.skip_slots) THEN c.last_modified_by ELSE excluded.last_modified_by END
        RETURNING c.*, NOT coalesce(${slot}::timestamptz = ANY (coalesce((SELECT b.skip_slots FROM before b), '{}')), false) AS changed`,
  );
  const changed = Boolean(row.changed);
  await writeAudit(tx, actor, "job.skip_next", input.jobName, { slot, note: input.note, changed });
  return { changed, state: toRuntimeState(row, input.enabledByDefault) };
}

/**
 * Takes back a skip-next: `slot`, or every slot still to come (null). No config row, or no such
 * slot: nothing changes. Audit row job.unskip with the slots it removed.
 */
export async function unskipSlots(tx: Db, actor: Actor, input: Common & { slot: Date | null }): Promise<SnoozeWriteResult & { removed: string[] }> {
  const slot = input.slot?.toISOString() ?? null;
  const now = input.now.toISOString();
  const keepAfter = keepAfterOf(input.now);
  // Removed: the slots still to come that match; kept: the others, and the recent past ones.
  const removing = sql`s > ${now}::timestamptz AND (${slot}::timestamptz IS NULL OR s = ${slot}::timestamptz)`;
  const [row] = await queryRows<ConfigRow & { removed: Array<Date | string> | string | null }>(
    tx,
    sql`WITH before AS (SELECT c.skip_slots FROM cron_job_config c WHERE c.job_name = ${input.jobName})
        UPDATE cron_job_config AS c SET
          skip_slots = ARRAY(SELECT s FROM unnest(c.skip_slots) s WHERE s > ${keepAfter}::timestamptz AND NOT (${removing}) ORDER BY s),
          skip_requested_by = CASE WHEN EXISTS (SELECT 1 FROM unnest(c.skip_slots) s WHERE s > ${keepAfter}::timestamptz AND NOT (${removing}))
                                   THEN c.skip_requested_by END,
          last_modified_at = now(), last_modified_by = ${actor.name}
        WHERE c.job_name = ${input.jobName}
        RETURNING c.*, ARRAY(SELECT s FROM unnest((SELECT b.skip_slots FROM before b)) s WHERE ${removing} ORDER BY s) AS removed`,
  );
  const removed = row ? isoArray(row.removed) : [];
  await writeAudit(tx, actor, "job.unskip", input.jobName, { slot, removed });
  return { changed: removed.length > 0, removed, state: toRuntimeState(row, input.enabledByDefault) };
}

/**
 * Snoozes the job until `until` (a maintenance window): the claim skips every slot of the
 * schedule's own triggers before it as snoozed, attributed to the actor. A new snooze replaces
 * the one in force (longer or shorter). Audit row job.snooze with the until, the note and the
 * snooze it replaced.
 */
export async function snoozeUntil(tx: Db, actor: Actor, input: Common & { until: Date; note: string | null }): Promise<SnoozeWriteResult & { replaced: string | null }> {
  const until = input.until.toISOString();
  const now = input.now.toISOString();
  const [row] = await queryRows<ConfigRow & { replaced: Date | string | null }>(
    tx,
    sql`WITH before AS (SELECT c.snoozed_until FROM cron_job_config c WHERE c.job_name = ${input.jobName})
        INSERT INTO cron_job_config AS c (job_name, enabled, snoozed_until, snooze_reason, snoozed_by, last_modified_at, last_modified_by)
        VALUES (${input.jobName}, NULL, ${until}::timestamptz, ${input.note}::text, ${actor.name}, now(), ${actor.name})
        ON CONFLICT (job_name) DO UPDATE SET
          snoozed_until = excluded.snoozed_until, snooze_reason = excluded.snooze_reason, snoozed_by = excluded.snoozed_by,
          last_modified_at = now(), last_modified_by = excluded.last_modified_by
        RETURNING c.*, (SELECT b.snoozed_until FROM before b WHERE b.snoozed_until > ${now}::timestamptz) AS replaced`,
  );
  const replaced = row.replaced == null ? null : new Date(row.replaced).toISOString();
  await writeAudit(tx, actor, "job.snooze", input.jobName, { until, note: input.note, replaced });
  return { changed: replaced !== until, replaced, state: toRuntimeState(row, input.enabledByDefault) };
}

/**
 * Ends the job's snooze now (its columns cleared: the next slot runs). A snooze that already
 * ended by itself, or none: nothing changes. Audit row job.unsnooze with the until it ended.
 */
export async function endSnooze(tx: Db, actor: Actor, input: Common): Promise<SnoozeWriteResult & { ended: string | null }> {
  const now = input.now.toISOString();
  const [row] = await queryRows<ConfigRow & { ended: Date | string | null }>(
    tx,
    sql`WITH before AS (SELECT c.snoozed_until FROM cron_job_config c WHERE c.job_name = ${input.jobName})
        UPDATE cron_job_config AS c SET snoozed_until = NULL, snooze_reason = NULL, snoozed_by = NULL,
          last_modified_at = CASE WHEN c.snoozed_until > ${now}::timestamptz THEN now() ELSE c.last_modified_at END,
          last_modified_by = CASE WHEN c.snoozed_until > ${now}::timestamptz THEN ${actor.name} ELSE c.last_modified_by END
        WHERE c.job_name = ${input.jobName}
        RETURNING c.*, (SELECT b.snoozed_until FROM before b WHERE b.snoozed_until > ${now}::timestamptz) AS ended`,
  );
  const ended = row?.ended == null ? null : new Date(row.ended).toISOString();
  await writeAudit(tx, actor, "job.unsnooze", input.jobName, { ended });
  return { changed: ended !== null, ended, state: toRuntimeState(row, input.enabledByDefault) };
}
