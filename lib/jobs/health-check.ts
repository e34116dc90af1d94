import { defineJob } from "../cron/define-job";
import { maskUrl } from "../cron/redact";
import { getDatabase } from "../db/client";
import { loadEnv } from "../env";
import { checkHealth } from "../app/health";
import { redisLeaseStoreFromEnv } from "../locks/redis-lease-store";

/**
 * Every 5 minutes: the database answers, the lock store answers, and HEALTHCHECK_URLS respond.
 * The URLs are named with their userinfo and query values masked (maskUrl).
 */
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
      // A URL's credentials and query values (?api_key=) are secrets: shown as ***.
      const shown = maskUrl(url.url);
      ctx.log(`${shown}: ${url.status}${url.statusCode ? ` (HTTP ${url.statusCode})` : ""} in ${url.durationMs}ms`);
      if (url.status !== "ok") problems.push(`${shown}: ${url.error ?? "failed"}`);
    }
    if (problems.length) throw new Error(`unhealthy: ${problems.join("; ")}`);
    return { database: report.databaseKind, databaseLatencyMs: report.databaseLatencyMs, lockStore: report.lockStore, urls: report.urls?.length ?? 0 };
  },
});
