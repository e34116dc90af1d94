import { z } from "zod";
import { operationDeps } from "../app/operations/deps";
import { skipNextRun, snoozeJob, unskipRun, unsnoozeJob } from "../app/operations/snooze";
import { getRuntime } from "../app/runtime";
import { formatDuration } from "../format";
import { json } from "./http";
import { adminRoute, noteSchema } from "./admin-http";
import { oneLine, parseJsonBody, requireJob } from "./parse";

/**
 * Skip-next and snooze over the admin API (lib/app/operations/snooze.ts does the work): session
 * or bearer auth, the Origin check for cookies and the one error mapping, as every admin route.
 */

const instantSchema = z.iso.datetime({ offset: true, error: "must be an ISO 8601 instant with a zone, such as 2026-03-29T01:00:00Z" });

export const skipNextBodySchema = z.strictObject({ slot: instantSchema.optional(), note: noteSchema.optional() });
export const unskipBodySchema = z.strictObject({ slot: instantSchema.optional() });
export const snoozeBodySchema = z.strictObject({
  until: instantSchema.optional(),
  for: oneLine(z.string().trim().min(1, "must not be empty").max(20, "must be a duration such as \"2h\"")).optional(),
  note: noteSchema.optional(),
});
export const unsnoozeBodySchema = z.strictObject({});

const dateOf = (value: string | undefined) => (value === undefined ? null : new Date(value));

/** POST /api/admin/cron-jobs/[jobName]/skip-next { slot?, note? }: skips the next slot (or the one given). */
export function handleSkipNext(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "skip-next", async ({ actor }) => {
    const job = requireJob(rawName);
    const body = await parseJsonBody(request, skipNextBodySchema);
    const result = await skipNextRun(operationDeps(await getRuntime()), actor, { job, slot: dateOf(body.slot), note: body.note ?? null });
    return json({
      success: true,
      ...result,
      message: result.changed ? `${job.name}'s run at ${result.slot} will be skipped.` : `${job.name}'s run at ${result.slot} was already to be skipped.`,
    });
  });
}

/** DELETE /api/admin/cron-jobs/[jobName]/skip-next { slot? }: the slot (or every slot) runs again. */
export function handleUnskip(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "unskip", async ({ actor }) => {
    const job = requireJob(rawName);
    const body = await parseJsonBody(request, unskipBodySchema);
    const result = await unskipRun(operationDeps(await getRuntime()), actor, { job, slot: dateOf(body.slot) });
    return json({
      success: true,
      ...result,
      changed: result.removed.length > 0,
      message: result.removed.length > 0 ? `${job.name} runs again at ${result.removed.join(", ")}.` : `${job.name} had no such slot to skip.`,
    });
  });
}

/** POST /api/admin/cron-jobs/[jobName]/snooze { until | for, note? }: skips every slot until then. */
export function handleSnooze(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "snooze", async ({ actor }) => {
    const job = requireJob(rawName);
    const body = await parseJsonBody(request, snoozeBodySchema);
    const now = new Date();
    const result = await snoozeJob(operationDeps(await getRuntime()), actor, { job, until: dateOf(body.until), for: body.for ?? null, note: body.note ?? null, now });
    return json({
      success: true,
      ...result,
      message: `${job.name} is snoozed until ${result.until} (${formatDuration(new Date(result.until).getTime() - now.getTime())})${result.replaced ? `, instead of ${result.replaced}` : ""}.`,
    });
  });
}

/** DELETE /api/admin/cron-jobs/[jobName]/snooze: ends the snooze now. */
export function handleUnsnooze(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "unsnooze", async ({ actor }) => {
    const job = requireJob(rawName);
    await parseJsonBody(request, unsnoozeBodySchema);
    const result = await unsnoozeJob(operationDeps(await getRuntime()), actor, { job });
    return json({
      success: true,
      ...result,
      changed: result.ended !== null,
      message: result.ended ? `${job.name}'s snooze (until ${result.ended}) has ended: its next slot runs.` : `${job.name} was not snoozed.`,
    });
  });
}
