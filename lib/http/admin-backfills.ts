import { z } from "zod";
import { budgetLeftMs } from "../cron/budget";
import { BACKFILL_OVERLAP } from "../cron/vocabulary";
import { cancelBackfillNow, describeBackfill, describePlan, listBackfills, previewBackfill, requireBackfill, runBackfillNow, startBackfill } from "../app/operations/backfills";
import { operationDeps } from "../app/operations/deps";
import { getRuntime } from "../app/runtime";
import { json } from "./http";
import { adminRoute, emptyBodySchema, runAfterResponse } from "./admin-http";
import { parseJsonBody, requireJob, requireUuid } from "./parse";

const instant = (example: string) => z.iso.datetime({ offset: true, message: `must be an ISO 8601 instant such as ${example}` });

export const backfillBodySchema = z.strictObject({
  from: instant("2026-11-01T00:00:00Z"),
  to: instant("2026-11-02T00:00:00Z"),
  overlap: z.enum(BACKFILL_OVERLAP).default("skip"),
  dryRun: z.boolean().default(false),
  /** The input every slot's run gets, checked by the job's input schema (none: the job's default). */
  input: z.unknown().optional(),
});

/**
 * POST /api/admin/cron-jobs/[jobName]/backfill { from, to, overlap?, dryRun?, input? }: the plan (every
 * slot in [from, to] with its run so far, and which ones run); with dryRun that is all (200,
 * nothing changes). Otherwise 202 with the plan and the backfill's id: it runs after the
 * response, one slot at a time, within this invocation's budget; the tick goes on with what
 * does not fit. Follow it at GET /api/admin/backfills/<id>.
 */
export function handleBackfill(request: Request, rawName: string, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  return adminRoute(request, "backfill", async ({ actor }) => {
    const job = requireJob(rawName);
    const body = await parseJsonBody(request, backfillBodySchema);
    const deps = operationDeps(await getRuntime());
    const range = { job, from: new Date(body.from), to: new Date(body.to), overlap: body.overlap, runInput: body.input };
    if (body.dryRun) {
      const plan = await previewBackfill(deps, range);
      return json({ success: true, dryRun: true, plan: describePlan(plan), message: `${plan.toRun.length} of ${plan.slots.length} slot(s) of ${job.name} would run.` });
    }
    const { plan, backfill } = await startBackfill(deps, actor, range);
    if (!backfill) {
      return json({ success: true, dryRun: false, backfill: null, plan: describePlan(plan), message: `Nothing to run: every slot of ${job.name} in the range has a run (overlap all runs them again).` });
    }
    runAfterResponse(`backfill ${job.name} (${backfill.id})`, () => runBackfillNow(deps, backfill.id, { budgetMs: budgetLeftMs(maxDurationSeconds, t0) }));
    return json(
      {
        success: true,
        dryRun: false,
        backfillId: backfill.id,
        backfill: describeBackfill(backfill),
        plan: describePlan(plan),
        message: `${plan.toRun.length} slot(s) of ${job.name} will run one at a time, starting right after this response.`,
        note: `Follow it at GET /api/admin/backfills/${backfill.id}; cancel it with POST /api/admin/backfills/${backfill.id}/cancel.`,
      },
      202,
    );
  });
}

/** GET /api/admin/cron-jobs/[jobName]/backfill: the job's backfills, newest first. */
export function handleListBackfills(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "list backfills", async () => {
    const job = requireJob(rawName);
    const backfills = await listBackfills(operationDeps(await getRuntime()), job.name);
    return json({ success: true, jobName: job.name, backfills: backfills.map((b) => describeBackfill(b)) });
  });
}

/** GET /api/admin/backfills/[id]: one backfill's progress. */
export function handleGetBackfill(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "backfill", async () => {
    const id = requireUuid(rawId);
    const backfill = await requireBackfill(operationDeps(await getRuntime()), id);
    return json({ success: true, backfill: describeBackfill(backfill) });
  });
}

/** POST /api/admin/backfills/[id]/cancel: the runner stops before its next slot; the slot in flight finishes. */
export function handleCancelBackfill(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "cancel backfill", async ({ actor }) => {
    const id = requireUuid(rawId);
    await parseJsonBody(request, emptyBodySchema);
    const backfill = await cancelBackfillNow(operationDeps(await getRuntime()), actor, id);
    return json({
      success: true,
      backfill: describeBackfill(backfill),
      message: backfill.status === "cancelled" ? "The backfill is cancelled." : "The backfill stops before its next slot; the slot in flight finishes.",
    });
  });
}
