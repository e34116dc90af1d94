import { getDatabase, targetFromEnv } from "@/lib/db/client";
import { loadEnv } from "@/lib/env";
import { checkHealth, healthStatusCode } from "@/lib/app/health";
import { redisLeaseStoreFromEnv } from "@/lib/locks/redis-lease-store";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** 200 with the database and lock store status, 503 when the database does not answer. */
export async function GET(): Promise<Response> {
  const env = loadEnv();
  const report = await checkHealth({
    openDb: async () => (await getDatabase(env)).db,
    databaseKind: targetFromEnv(env).kind,
    // Postgres is always the lock store; an Upstash Redis pre-check is reported when configured.
    leaseStore: redisLeaseStoreFromEnv(env),
  });
  return Response.json(report, { status: healthStatusCode(report), headers: { "cache-control": "no-store" } });
}
