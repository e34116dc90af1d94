import { z } from "zod";
import { jobDependencies } from "../app/dependencies";
import { getRuntime } from "../app/runtime";
import { json } from "./http";
import { adminRoute } from "./admin-http";
import { parseQuery, requireJob } from "./parse";

export const dependenciesQuerySchema = z.strictObject({
  slots: z.coerce.number({ error: "must be a whole number from 1 to 50" }).int("must be a whole number from 1 to 50").min(1, "must be a whole number from 1 to 50").max(50, "must be a whole number from 1 to 50").default(5),
  /** The slots at or before this instant (default now): to look at a past day's chain. */
  before: z.iso.datetime({ offset: true, error: "must be an ISO 8601 instant such as 2026-11-24T10:00:00Z" }).optional(),
});

/**
 * GET /api/admin/cron-jobs/[jobName]/dependencies?slots&before: the job's upstream and downstream jobs, the
 * chain they make, and for each of its recent slots each upstream's state for it and why the
 * slot waits or was skipped.
 */
export function handleJobDependencies(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "job dependencies", async ({ url }) => {
    const job = requireJob(rawName);
    const query = parseQuery(url, dependenciesQuerySchema);
    const { database, registry, env } = await getRuntime();
    const view = await jobDependencies(database.db, registry, job, env.CRON_PLAN, { slots: query.slots, before: query.before ? new Date(query.before) : null });
    return json({ success: true, ...view });
  });
}
