import { sql } from "drizzle-orm";
import type { Actor } from "../../cron/vocabulary";
import type { Db } from "../client";
import { writeAudit } from "./audit";

/**
 * Deletes what a contention test created: its runs (tagged `codeVersion`) with their leases,
 * dead letters and alerts, and the job's config row when the test created it. The audit row
 * (logs.cleanup) says whose rows went.
 */
export async function deleteTaggedRuns(tx: Db, actor: Actor, input: { jobName: string; codeVersion: string; dropConfig: boolean }): Promise<void> {
  const tagged = sql`SELECT id FROM cron_job_logs WHERE code_version = ${input.codeVersion}`;
  await tx.execute(sql`DELETE FROM cron_job_leases WHERE run_id IN (${tagged})`);
  await tx.execute(sql`DELETE FROM cron_dead_letters WHERE run_id IN (${tagged})`);
  await tx.execute(sql`DELETE FROM cron_alerts WHERE run_id IN (${tagged})`);
  await tx.execute(sql`DELETE FROM cron_job_logs WHERE code_version = ${input.codeVersion}`);
  if (input.dropConfig) await tx.execute(sql`DELETE FROM cron_job_config WHERE job_name = ${input.jobName}`);
  await writeAudit(tx, actor, "logs.cleanup", input.jobName, { codeVersion: input.codeVersion, stress: true });
}
