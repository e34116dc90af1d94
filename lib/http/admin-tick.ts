import { z } from "zod";
import { getRuntime } from "../app/runtime";
import { tickOverview } from "../app/tick-watch";
import { systemClock } from "../cron/clock";
import { loadEnv } from "../env";
import { adminRoute } from "./admin-http";
import { json } from "./http";
import { parseQuery } from "./parse";

export const tickQuerySchema = z.object({
  limit: z.coerce.number({ error: "must be a whole number from 1 to 100" }).int("must be a whole number from 1 to 100").min(1, "must be at least 1").max(100, "must be at most 100").default(20),
  before: z.iso.datetime({ offset: true, error: "must be an ISO 8601 timestamp such as 2026-11-24T01:00:00Z" }).optional(),
});

/**
 * GET /api/admin/tick?limit=20&before=<iso>: the tick's own health (last run, lag, late or not,
 * what its last run did), the open tick_late incident, and its latest runs with their reports.
 * Reading it checks the tick (lib/app/tick-watch.ts): a late tick is alerted from here too.
 */
export function handleTickStatus(request: Request): Promise<Response> {
  return adminRoute(request, "tick", async ({ url }) => {
    const { limit, before } = parseQuery(url, tickQuerySchema);
    const runtime = await getRuntime();
    const env = loadEnv();
    const now = new Date((runtime.engine.clock ?? systemClock).now());
    const overview = await tickOverview({ db: runtime.database.db, env, notify: runtime.observers.notify, now }, { limit, before: before ? new Date(before) : null });
    return json({ success: true, generatedAt: now.toISOString(), plan: env.CRON_PLAN, ...overview, nextBefore: overview.runs.length === limit ? overview.runs[overview.runs.length - 1].startedAt : null });
  });
}
