import type { Actor } from "../../cron/vocabulary";
import type { Db } from "../client";
import { cleanupOldLogs } from "../maintenance";
import { writeAudit } from "./audit";

/** Deletes runs older than `days` (cleanupOldLogs, the cleanup-old-logs job's function), with its audit row. */
export async function cleanupLogs(tx: Db, actor: Actor, input: { days: number }): Promise<number> {
  const deleted = await cleanupOldLogs(tx, input.days);
  await writeAudit(tx, actor, "logs.cleanup", null, { days: input.days, deleted });
  return deleted;
}
