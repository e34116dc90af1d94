import { z } from "zod";
import { JOB_NAME_RE } from "../cron/define-job";
import { operationDeps } from "../app/operations/deps";
import { clearJobLease } from "../app/operations/leases";
import { getRuntime } from "../app/runtime";
import { locks } from "../db/queries/leases";
import { json } from "./http";
import { adminRoute } from "./admin-http";
import { jobNotFound, parseQuery } from "./parse";

/** GET /api/admin/locks: every job lease with its holder, age, time to expiry and stale flag. */
export function handleListLocks(request: Request): Promise<Response> {
  return adminRoute(request, "locks", async () => {
    const { database } = await getRuntime();
    const rows = await locks(database.db);
    return json({ success: true, generatedAt: new Date().toISOString(), locks: rows, total: rows.length, stale: rows.filter((l) => l.stale).length });
  });
}

export const clearLockQuerySchema = z.object({
  force: z.enum(["true", "false", "1", "0"]).optional(),
});

/**
 * DELETE /api/admin/locks/[jobName]: frees the lease and marks its run abandoned, in one
 * statement. A stale lease clears at once; a live one (its holder still heartbeats) only
 * with ?force=true, because its handler may still be working (409 lock_live otherwise).
 * A lease under a name no job has any more can be cleared too.
 */
export function handleClearLock(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "clear lock", async ({ actor, url }) => {
    // Not requireJob: a lease may outlive its job, so any well-formed name is looked up.
    if (!JOB_NAME_RE.test(rawName) || rawName.length > 100) throw jobNotFound(rawName);
    const { force } = parseQuery(url, clearLockQuerySchema);
    const cleared = await clearJobLease(operationDeps(await getRuntime()), actor, { lease: { jobName: rawName }, force: force === "true" || force === "1" });
    return json({
      success: true,
      jobName: cleared.jobName,
      runId: cleared.runId,
      holder: cleared.holder,
      wasStale: cleared.wasStale,
      runAbandoned: cleared.runAbandoned,
      message: `Cleared ${cleared.jobName}'s lease${cleared.runAbandoned ? ` and marked run ${cleared.runId} abandoned` : ""}.`,
    });
  });
}
