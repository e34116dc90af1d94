import { checkHealth, healthStatusCode } from "../app/health";
import { readTickHealth, systemNotify, tickHealthSummary, watchQuietly } from "../app/tick-watch";
import { systemClock } from "../cron/clock";
import { getDatabase, targetFromEnv } from "../db/client";
import { loadEnv } from "../env";
import { redisLeaseStoreFromEnv } from "../locks/redis-lease-store";
import { json, toErrorResponse } from "./http";

/** GET /api/health: 200 with the database, lock store and tick status (a late tick is reported, still 200), 503 when the database does not answer. */
export async function handleHealth(): Promise<Response> {
  try {
    const env = loadEnv();
    const report = await checkHealth({
      openDb: async () => (await getDatabase(env)).db,
      databaseKind: targetFromEnv(env).kind,
      // Postgres is always the lock store; an Upstash Redis pre-check is reported when configured.
      leaseStore: redisLeaseStoreFromEnv(env),
      // The tick's own health, which is also a check: it writes and alerts only when the tick_late watch opens, re-alerts or closes (lib/app/tick-watch.ts).
      // No runtime here: health must not build the job registry (see systemNotify).
      tick: async (db) => {
        const now = new Date(systemClock.now());
        const health = await readTickHealth(db, env.CRON_PLAN, now);
        await watchQuietly({ db, env, notify: systemNotify(env, db), now }, health);
        return tickHealthSummary(health);
      },
    });
    return json(report, healthStatusCode(report));
  } catch (error) {
    return toErrorResponse(error, "health");
  }
}
