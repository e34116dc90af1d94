import { dependencyPendingMs, dependencyView, type DependencyView } from "../cron/dependencies";
import type { JobDefinition } from "../cron/define-job";
import type { JobRegistry } from "../cron/registry";
import type { Db } from "../db/client";
import { PostgresUpstreamSource } from "../db/queries/dependencies";
import type { VercelPlan } from "../vercel/crons";
import { deliveryGraceMs } from "../vercel/crons";

/**
 * A job's dependencies and why its recent slots wait or were skipped: what GET
 * /api/admin/cron-jobs/[jobName]/dependencies answers, `crondeck jobs deps` prints and the job
 * page's dependencies panel shows (one reading for all three).
 */
export function jobDependencies(db: Db, registry: JobRegistry, job: JobDefinition, plan: VercelPlan, options: { now?: Date; slots?: number; before?: Date | null } = {}): Promise<DependencyView> {
  const { now = new Date(), slots = 5, before = null } = options;
  return dependencyView(new PostgresUpstreamSource(db), registry, job, now, { pendingMs: dependencyPendingMs(deliveryGraceMs(plan)), slots, before });
}
