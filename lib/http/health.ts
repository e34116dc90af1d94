import { checkHealth, healthStatusCode } from "../app/health";
import { getDatabase, targetFromEnv } from "../db/client";
import { loadEnv } from "../env";
import { redisLeaseStoreFromEnv } from "../locks/redis-lease-store";
import { json, toErrorResponse } from "./http";

/** GET /api/health: 200 with the database and lock store status, 503 when the database does not answer. */
export async function handleHealth(): Promise<Response> {
  try {
    const env = loadEnv();
    const report = await checkHealth({
      openDb: async () => (await getDatabase(env)).db,
      databaseKind: targetFromEnv(env).kind,
      // Postgres is always the lock store; an Upstash Redis pre-check is reported when configured.
      leaseStore: redisLeaseStoreFromEnv(env),
    });
    return json(report, healthStatusCode(report));
  } catch (error) {
    return toErrorResponse(error, "health");
  }
}
