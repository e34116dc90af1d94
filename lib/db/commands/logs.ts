import { sql } from "drizzle-orm";
import type { Actor } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { num, type DbNumber } from "../rows";
import { writeAudit } from "./audit";

/** Deletes runs older than `days` through cleanup_old_cron_logs (the cleanup-old-logs job's function), with its audit row. */
export async function cleanupLogs(tx: Db, actor: Actor, input: { days: number }): Promise<number> {
  const [row] = await queryRows<{ deleted: DbNumber }>(tx, sql`SELECT cleanup_old_cron_logs(${input.days}::int) AS deleted`);
  const deleted = num(row.deleted);
  await writeAudit(tx, actor, "logs.cleanup", null, { days: input.days, deleted });
  return deleted;
}
