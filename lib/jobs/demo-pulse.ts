import { defineJob } from "../cron/define-job";
import { getDatabase } from "../db/client";
import { runsPerStatus } from "../db/queries/statistics";
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
    const rows = await runsPerStatus(db, { minutes: 60 });
    const counts = Object.fromEntries(rows.map((r) => [r.status, r.count]));
    ctx.log(`last hour: ${rows.map((r) => `${r.count} ${r.status}`).join(", ") || "no runs"}`);
    return { lastHour: counts };
  },
});
