import { z } from "zod";
import { jobDependencies } from "../app/dependencies";
import { getRuntime } from "../app/runtime";
import { json } from "./http";
import { adminRoute } from "./admin-http";
import { parseQuery, requireJob } from "./parse";

export const dependenciesQuerySchema = z.object({
  slots: z.coerce.number().int().min(1).max(50).default(5),
});

/**
 * GET /api/admin/cron-jobs/[jobName]/dependencies: the job's upstream and downstream jobs, the
 * chain they make, and for each of its recent slots each upstream's state for it and why the
 * slot waits or was skipped.
 */
export function handleJobDependencies(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "job dependencies", async ({ url }) => {
    const job = requireJob(rawName);
    const query = parseQuery(url, dependenciesQuerySchema);
    const { database, registry, env } = await getRuntime();
    const view = await jobDependencies(database.db, registry, job, env.CRON_PLAN, new Date(), query.slots);
    return json({ success: true, ...view });
  });
}
