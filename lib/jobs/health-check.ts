import { defineJob } from "../cron/define-job";
import { getDatabase } from "../db/client";
import { loadEnv } from "../env";
import { checkHealth } from "../app/health";
import { redisLeaseStoreFromEnv } from "../locks/redis-lease-store";

/** Every 5 minutes: the database answers, the lock store answers, and HEALTHCHECK_URLS respond. */
export default defineJob({
  name: "health-check",
  schedule: "*/5 * * * *",
  description: "Database round trip, lock store reachable, and every URL in HEALTHCHECK_URLS answering",
  category: "monitoring",
  timeout: "1m",
  retries: 1,
  backoff: { strategy: "fixed", delay: "5s" },
  handler: async (ctx) => {
    const env = loadEnv();
    const database = await getDatabase(env);
    const report = await checkHealth({
      openDb: async () => database.db,
      databaseKind: database.kind,
      leaseStore: redisLeaseStoreFromEnv(env),
      urls: env.HEALTHCHECK_URLS,
      log: (message) => ctx.log(message),
    });
    if (report.status !== "ok") throw new Error(`database unreachable: ${report.message}`);
    const problems: string[] = [];
    if (report.lockStore === "failed") problems.push(`lock store (${report.lockStoreKind ?? "redis"}) unreachable`);
    for (const url of report.urls ?? []) {
      ctx.log(`${url.url}: ${url.status}${url.statusCode ? ` (HTTP ${url.statusCode})` : ""} in ${url.durationMs}ms`);
      if (url.status !== "ok") problems.push(`${url.url}: ${url.error ?? "failed"}`);
    }
    if (problems.length) throw new Error(`unhealthy: ${problems.join("; ")}`);
    return { database: report.databaseKind, databaseLatencyMs: report.databaseLatencyMs, lockStore: report.lockStore, urls: report.urls?.length ?? 0 };
  },
});
