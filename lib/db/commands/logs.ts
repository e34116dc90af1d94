import type { Actor } from "../../cron/vocabulary";
import type { Db } from "../client";
import { runCleanup, type CleanupReport } from "../maintenance";
import type { RetentionPolicy, RetentionRunOptions } from "../retention";
import { writeAudit } from "./audit";

/**
 * An operator's cleanup (runCleanup, the cleanup-old-logs job's function), with its audit row.
 * The one command whose audit row does not share the change's transaction: the change is many
 * transactions by design (each batch commits, so a timeout keeps what was deleted), and the
 * row, written after the last batch, records what they did. `db` must not be a transaction.
 */
export async function cleanupLogs(db: Db, actor: Actor, input: { policy: RetentionPolicy } & RetentionRunOptions): Promise<CleanupReport> {
  const { policy, ...options } = input;
  const report = await runCleanup(db, policy, options);
  await writeAudit(db, actor, "logs.cleanup", null, {
    days: policy.logDays,
    complete: report.complete,
    deleted: report.deleted,
    remaining: report.remaining,
    tables: Object.fromEntries(
      report.tables.map((t) => [t.table, { retentionDays: t.retentionDays, status: t.status, deleted: t.deleted, remaining: t.remaining }]),
    ),
  });
  return report;
}
