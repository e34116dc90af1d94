import { z } from "zod";
import { OperationError } from "../cron/errors";
import { getRun } from "../db/queries/run-detail";
import { statistics } from "../db/queries/statistics";
import { getRuntime } from "../app/runtime";
import { adminRoute } from "./admin-http";
import { json } from "./http";
import { parseQuery, requireUuid } from "./parse";

/** GET /api/admin/runs/[id]: one run with its attempts, log lines, error, stack and output. */
export function handleGetRun(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "run", async () => {
    const id = requireUuid(rawId);
    const { database } = await getRuntime();
    const run = await getRun(database.db, id);
    if (!run) throw new OperationError("not_found", "run_not_found", `No run ${id}.`);
    return json({ success: true, run });
  });
}

export const statisticsQuerySchema = z.object({
  hours: z.coerce.number().int().min(1).max(168).default(24),
});

/** GET /api/admin/statistics?hours=24: counts per job and overall, dead letters, lock figures. */
export function handleStatistics(request: Request): Promise<Response> {
  return adminRoute(request, "statistics", async ({ url }) => {
    const { hours } = parseQuery(url, statisticsQuerySchema);
    const { database } = await getRuntime();
    return json({ success: true, ...(await statistics(database.db, { hours })) });
  });
}
