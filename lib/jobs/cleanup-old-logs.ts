import { defineJob } from "../cron/define-job";
import { getDatabase } from "../db/client";
import { cleanupOldLogs } from "../db/maintenance";
import { loadEnv } from "../env";

/**
 * Weekly: deletes runs older than CRON_LOG_RETENTION_DAYS (default 90), in batches, keeping
 * running runs and runs behind pending dead-letter entries (cleanupOldLogs).
 */
export default defineJob({
  name: "cleanup-old-logs",
  schedule: "0 0 * * 0",
  description: "Delete run logs older than the retention window (CRON_LOG_RETENTION_DAYS, default 90)",
  category: "cleanup",
  // Within the execute route's 300 s maxDuration, with room for an in-request retry after a
  // quick failure; the delete is idempotent, so a timed-out attempt's work is kept by the next.
  timeout: "2m",
  retries: 2,
  backoff: { strategy: "exponential", delay: "5s", factor: 2, max: "5m", jitter: true },
  handler: async (ctx) => {
    const env = loadEnv();
    const { db } = await getDatabase(env);
    const deleted = await cleanupOldLogs(db, env.CRON_LOG_RETENTION_DAYS);
    ctx.log(`deleted ${deleted} runs older than ${env.CRON_LOG_RETENTION_DAYS} days`);
    return { deleted, retentionDays: env.CRON_LOG_RETENTION_DAYS };
  },
});
