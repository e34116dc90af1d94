import { sql } from "drizzle-orm";
import type { Actor, AuditAction } from "../../cron/vocabulary";
import type { Db } from "../client";
import { writeAudit } from "./audit";

export interface OverridesWrite {
  jobName: string;
  /** The document before and after (null after: no overrides left). */
  before: Record<string, unknown>;
  after: Record<string, unknown> | null;
  /** The fields this write set or reverted. */
  fields: string[];
}

/** Makes sure the job has a config row (enabled NULL: as defined), so its overrides can be locked and written. */
export async function ensureConfigRow(tx: Db, jobName: string, actor: Actor): Promise<void> {
  await tx.execute(sql`INSERT INTO cron_job_config (job_name, enabled, last_modified_at, last_modified_by) VALUES (${jobName}, NULL, now(), ${actor.name}) ON CONFLICT (job_name) DO NOTHING`);
}

/**
 * Stores a job's overrides (the whole validated document; null clears them) with who and when,
 * and its audit row (job.override, or job.override_revert) with the document before and after.
 * Call inside the transaction that read the document FOR UPDATE.
 */
export async function writeOverrides(tx: Db, actor: Actor, action: Extract<AuditAction, "job.override" | "job.override_revert">, input: OverridesWrite): Promise<void> {
  const after = input.after && Object.keys(input.after).length > 0 ? input.after : null;
  await tx.execute(
    sql`UPDATE cron_job_config SET
          overrides = ${after === null ? null : JSON.stringify(after)}::jsonb,
          overrides_at = ${after === null ? null : sql`now()`}, overrides_by = ${after === null ? null : actor.name},
          last_modified_at = now(), last_modified_by = ${actor.name}
        WHERE job_name = ${input.jobName}`,
  );
  await writeAudit(tx, actor, action, input.jobName, { fields: input.fields, before: input.before, after });
}
