import { z } from "zod";
import { JOB_NAME_RE } from "../cron/define-job";
import { PRIORITIES, RECOVERY_STATUSES } from "../cron/vocabulary";
import { markFailed, prepareReplay, updateNotes } from "../app/operations/dead-letters";
import { operationDeps } from "../app/operations/deps";
import { getRuntime } from "../app/runtime";
import { deadLetterInsight, INSIGHT_DEFAULT_DAYS, INSIGHT_MAX_DAYS } from "../db/queries/dead-letter-insight";
import { deadLetterSummary, listDeadLetters, summaryJson } from "../db/queries/dead-letters";
import { json } from "./http";
import { adminRoute, runAfterResponse } from "./admin-http";
import { oneLine, parseJsonBody, parseQuery, requireUuid } from "./parse";
import { budgetLeftMs } from "../cron/budget";

export const deadLetterListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  status: z.enum(RECOVERY_STATUSES).optional(),
  jobName: z.string().regex(JOB_NAME_RE, "must be a job name such as cleanup-old-logs").max(100).optional(),
});

/** GET /api/admin/dead-letter-queue?limit&offset&status&jobName */
export function handleListDeadLetters(request: Request): Promise<Response> {
  return adminRoute(request, "dead letters", async ({ url }) => {
    const query = parseQuery(url, deadLetterListQuerySchema);
    const { database } = await getRuntime();
    const [{ entries, total }, summary] = await Promise.all([listDeadLetters(database.db, query), deadLetterSummary(database.db)]);
    return json({
      success: true,
      entries,
      total,
      limit: query.limit,
      offset: query.offset,
      summary: summaryJson(summary),
    });
  });
}

/** Strict: a misspelt parameter (?jobName= for ?job=) answers 400 instead of the whole queue's insight. */
export const deadLetterInsightQuerySchema = z.strictObject({
  days: z.coerce
    .number({ error: `must be a whole number of days from 1 to ${INSIGHT_MAX_DAYS}` })
    .int(`must be a whole number of days from 1 to ${INSIGHT_MAX_DAYS}`)
    .min(1, `must be a whole number of days from 1 to ${INSIGHT_MAX_DAYS}`)
    .max(INSIGHT_MAX_DAYS, `must be a whole number of days from 1 to ${INSIGHT_MAX_DAYS}`)
    .default(INSIGHT_DEFAULT_DAYS),
  job: z.string().regex(JOB_NAME_RE, "must be a job name such as cleanup-old-logs").max(100).optional(),
});

/**
 * GET /api/admin/dead-letter-queue/insight?days&job: entries per day, the most common failure
 * reasons by fingerprint, and the time to recovery, per job and overall, over the last `days`
 * whole UTC days (default 30).
 */
export function handleDeadLetterInsight(request: Request): Promise<Response> {
  return adminRoute(request, "dead-letter insight", async ({ url }) => {
    const query = parseQuery(url, deadLetterInsightQuerySchema);
    const { database } = await getRuntime();
    const insight = await deadLetterInsight(database.db, { days: query.days, jobName: query.job ?? null, now: new Date() });
    return json({ success: true, ...insight });
  });
}

/** The retry body: nothing (the run's own input), or an edited input. */
export const retryBodySchema = z.strictObject({ input: z.unknown().optional() });

/**
 * POST /api/admin/dead-letter-queue/[id]/retry: counts the replay against the entry's limit
 * now (so a limit or a settled entry answers 409 at once), then replays the run after the
 * response, for its original slot, as trigger "replay". A job may run for minutes: holding
 * the admin's request open that long would gain nothing, and the run's id is known ahead.
 * The replay runs with its run's input; `{ "input": {...} }` replays with an edited one
 * (checked by the job's schema: 400 invalid_input naming the field, nothing counted; null: the
 * job's default), recorded on the audit row before and after.
 */
export function handleRetryDeadLetter(request: Request, rawId: string, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  return adminRoute(request, "dead-letter retry", async ({ actor }) => {
    const id = requireUuid(rawId);
    const body = await parseJsonBody(request, retryBodySchema);
    const replay = await prepareReplay(operationDeps(await getRuntime()), actor, { id, ...(body.input !== undefined ? { input: body.input } : {}) });
    const { entry, job, executionId } = replay;
    runAfterResponse(`admin replay ${id} (${executionId})`, () => replay.run(budgetLeftMs(maxDurationSeconds, t0)));
    return json(
      {
        success: true,
        id,
        jobName: job.name,
        executionId,
        replayCount: entry.replayCount,
        replayLimit: replay.replayLimit,
        message: `Replaying run ${entry.runId} of ${job.name}${entry.scheduledFor ? ` for its slot ${entry.scheduledFor}` : ""} right after this response.`,
        note: `Follow it at GET /api/admin/runs/${executionId}. A successful replay marks the entry replayed; a failed one leaves it pending.`,
      },
      202,
    );
  });
}

export const markFailedBodySchema = z.strictObject({
  reason: z.string().trim().min(1, "must say why (a sentence for the next person)").max(1000, "must be at most 1000 characters"),
});

/** POST /api/admin/dead-letter-queue/[id]/mark-failed { reason } */
export function handleMarkFailed(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "dead-letter mark-failed", async ({ actor }) => {
    const id = requireUuid(rawId);
    const { reason } = await parseJsonBody(request, markFailedBodySchema);
    const entry = await markFailed(operationDeps(await getRuntime()), actor, { id, reason });
    return json({ success: true, entry });
  });
}

const nullableText = (max: number) => z.union([z.string().trim().max(max, `must be at most ${max} characters`), z.null()]);
export const notesBodySchema = z
  .strictObject({
    notes: nullableText(5000).optional(),
    assignedTo: z.union([oneLine(z.string().trim().max(200, "must be at most 200 characters")), z.null()]).optional(),
    priority: z.enum(PRIORITIES).optional(),
  })
  .refine((b) => b.notes !== undefined || b.assignedTo !== undefined || b.priority !== undefined, { message: "send at least one of notes, assignedTo, priority", path: ["notes"] });

/** PUT /api/admin/dead-letter-queue/[id]/notes { notes, assignedTo, priority } */
export function handleUpdateNotes(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "dead-letter notes", async ({ actor }) => {
    const id = requireUuid(rawId);
    const patch = await parseJsonBody(request, notesBodySchema);
    const entry = await updateNotes(operationDeps(await getRuntime()), actor, { id, patch });
    return json({ success: true, entry });
  });
}
