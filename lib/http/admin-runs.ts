import { z } from "zod";
import { OperationError } from "../cron/errors";
import { getRun, getRunProgress } from "../db/queries/run-detail";
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

export const runProgressQuerySchema = z.object({
  /** The lines the caller has already (the log's first `since` lines): only those after them come back. */
  since: z.coerce.number().int().min(0).max(10_000).default(0),
});

/**
 * GET /api/admin/runs/[id]/progress?since=n: what the run page polls while the run runs (its
 * status, attempts and the log lines after the first n), light enough for a poll every few
 * seconds. The lines reach the row with the run's heartbeats (lib/cron/lease-keeper.ts).
 */
export function handleRunProgress(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "run progress", async ({ url }) => {
    const id = requireUuid(rawId);
    const { since } = parseQuery(url, runProgressQuerySchema);
    const { database } = await getRuntime();
    const progress = await getRunProgress(database.db, id, since);
    if (!progress) throw new OperationError("not_found", "run_not_found", `No run ${id}.`);
    return json({ success: true, progress });
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
