import { z } from "zod";
import { JOB_NAME_RE } from "../cron/define-job";
import { locks } from "../db/admin-queries";
import { clearLock } from "../db/commands/leases";
import { recordAudit } from "../db/audit";
import { getRegistry } from "../jobs";
import { HttpError, json } from "./http";
import { adminRoute, inTransaction, parseQuery } from "./admin-http";
import { getRuntime } from "../app/runtime";

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
 * with ?force=true, because its handler may still be working.
 */
export function handleClearLock(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "clear lock", async ({ auth, url }) => {
    if (!JOB_NAME_RE.test(rawName) || rawName.length > 100) throw new HttpError(404, "job_not_found", `No job named "${rawName.slice(0, 60)}".`);
    const { force } = parseQuery(url, clearLockQuerySchema);
    const forced = force === "true" || force === "1";
    const { database } = await getRuntime();
    const result = await inTransaction(database.db, async (tx) => {
      const r = await clearLock(tx, rawName, auth.actor, { force: forced });
      if (r.cleared) {
        await recordAudit(tx, {
          actor: auth.actor,
          action: "lock.clear",
          target: rawName,
          detail: { runId: r.runId, holder: r.holder, wasStale: r.wasStale, runAbandoned: r.runAbandoned, forced, via: auth.via },
          ipAddress: auth.ip,
        });
      }
      return r;
    });
    if (!result.cleared && result.reason === "not_found") {
      if (!getRegistry().has(rawName)) throw new HttpError(404, "job_not_found", `No job named "${rawName}" and no lease under that name.`);
      throw new HttpError(404, "lock_not_found", `${rawName} holds no lease right now; nothing to clear.`);
    }
    if (!result.cleared) {
      throw new HttpError(
        409,
        "lock_live",
        `${rawName}'s lease is live (held by ${result.holder}, expires in ${result.expiresInSeconds}s): its run may still be working. Wait for it, or clear it anyway with ?force=true.`,
      );
    }
    return json({
      success: true,
      jobName: rawName,
      runId: result.runId,
      holder: result.holder,
      wasStale: result.wasStale,
      runAbandoned: result.runAbandoned,
      message: `Cleared ${rawName}'s lease${result.runAbandoned ? ` and marked run ${result.runId} abandoned` : ""}.`,
    });
  });
}
