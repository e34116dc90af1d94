import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";
import { num, type DbNumber } from "./rows";

/**
 * Deletes runs older than `days` through cleanup_old_cron_logs: in batches, keeping running
 * runs and runs behind pending dead-letter entries. Returns how many rows it deleted.
 */
export async function cleanupOldLogs(db: Db, days: number): Promise<number> {
  const [row] = await queryRows<{ deleted: DbNumber }>(db, sql`SELECT cleanup_old_cron_logs(${days}::int) AS deleted`);
  return num(row?.deleted);
}
