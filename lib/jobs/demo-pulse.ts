import { sql } from "drizzle-orm";
import { defineJob } from "../cron/define-job";
import { getDatabase, queryRows } from "../db/client";
import { loadEnv } from "../env";

/** Demo (CRON_DEMO=1): every minute, reads the database clock and counts the last hour's runs. */
export default defineJob({
  name: "demo-pulse",
  schedule: "* * * * *",
  description: "Demo: reads the database clock and counts the last hour's runs per status",
  category: "demo",
  // Not in vercel.json: the tick dispatches it, so demo jobs never reach a production cron list.
  dispatch: "tick",
  timeout: "30s",
  handler: async (ctx) => {
    const { db } = await getDatabase(loadEnv());
    const rows = await queryRows<{ status: string; n: number }>(
      db,
      sql`SELECT status, count(*)::int AS n FROM cron_job_logs WHERE started_at > now() - interval '1 hour' GROUP BY status ORDER BY status`,
    );
    const counts = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    ctx.log(`last hour: ${rows.map((r) => `${r.n} ${r.status}`).join(", ") || "no runs"}`);
    return { lastHour: counts };
  },
});
