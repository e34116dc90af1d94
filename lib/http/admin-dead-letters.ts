import { z } from "zod";
import { JOB_NAME_RE } from "../cron/define-job";
import { DEAD_LETTER_BULK_ACTIONS, PRIORITIES, RECOVERY_STATUSES, type Priority } from "../cron/vocabulary";
import { markFailed, prepareBulkReplay, prepareReplay, settleSelection, updateNotes } from "../app/operations/dead-letters";
import { BULK_MAX } from "../db/commands/dead-letters";
import { operationDeps } from "../app/operations/deps";
import { getRuntime } from "../app/runtime";
import { deadLetterInsight, INSIGHT_DEFAULT_DAYS, INSIGHT_MAX_DAYS } from "../db/queries/dead-letter-insight";
import { DEAD_LETTER_SORTS, deadLetterSummary, listDeadLetters, summaryJson, type DeadLetterSelection } from "../db/queries/dead-letters";
import { json } from "./http";
import { adminRoute, runAfterResponse } from "./admin-http";
import { oneLine, parseJsonBody, parseQuery, requireUuid } from "./parse";
import { budgetLeftMs } from "../cron/budget";

const instant = z.iso.datetime({ offset: true, error: "must be an ISO 8601 instant with a zone, such as 2026-11-24T00:00:00Z" });
const jobName = z.string().regex(JOB_NAME_RE, "must be a job name such as cleanup-old-logs").max(100);

/** A selection of entries (DeadLetterSelection) as the list's query and the bulk body carry it. */
const selectionFields = {
  jobName: jobName.optional(),
  reason: oneLine(z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters")).optional(),
  from: instant.optional(),
  to: instant.optional(),
  priority: z.enum(PRIORITIES).optional(),
};
const fromBeforeTo = (s: { from?: string; to?: string }) => !s.from || !s.to || Date.parse(s.from) < Date.parse(s.to);
const FROM_BEFORE_TO = { message: "must be after from", path: ["to"] };
const toSelection = (s: { jobName?: string; reason?: string; from?: string; to?: string; priority?: Priority; ids?: string[] }): DeadLetterSelection => ({
  jobName: s.jobName ?? null,
  reason: s.reason ?? null,
  from: s.from ? new Date(s.from) : null,
  to: s.to ? new Date(s.to) : null,
  priority: s.priority ?? null,
  ids: s.ids ?? null,
});

export const deadLetterListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
    status: z.enum(RECOVERY_STATUSES).optional(),
    sort: z.enum(DEAD_LETTER_SORTS).default("newest"),
    ...selectionFields,
  })
  .refine(fromBeforeTo, FROM_BEFORE_TO);

/**
 * GET /api/admin/dead-letter-queue?limit&offset&status&jobName&reason&from&to&priority&sort:
 * the entries of a selection (what a bulk action would take: its preview), `total` and the
 * count per job, and the summary over the whole queue.
 */
export function handleListDeadLetters(request: Request): Promise<Response> {
  return adminRoute(request, "dead letters", async ({ url }) => {
    const query = parseQuery(url, deadLetterListQuerySchema);
    const { database } = await getRuntime();
    const [{ entries, total, jobs }, summary] = await Promise.all([
      listDeadLetters(database.db, { ...toSelection(query), status: query.status ?? null, sort: query.sort, limit: query.limit, offset: query.offset }),
      deadLetterSummary(database.db),
    ]);
    return json({
      success: true,
      entries,
      total,
      jobs,
      limit: query.limit,
      offset: query.offset,
      summary: summaryJson(summary),
    });
  });
}


export const bulkBodySchema = z
  .strictObject({
    action: z.enum(DEAD_LETTER_BULK_ACTIONS),
    /** Which pending entries: every field narrows; {} takes every pending entry. */
    filter: z.strictObject({ ...selectionFields, ids: z.array(z.uuid({ error: "must be entry ids (UUIDs)" })).min(1).max(BULK_MAX).optional() }).refine(fromBeforeTo, FROM_BEFORE_TO).default({}),
    /** Why (mark_failed and resolve): recorded on each entry and on the audit row. */
    reason: z.string().trim().min(1, "must say why (a sentence for the next person)").max(1000, "must be at most 1000 characters").optional(),
    /** At most this many entries (replay: default 10 per request, run one after another; settling: default and most 500). */
    max: z.number().int().min(1).max(BULK_MAX).optional(),
    /** Replay: the pass's start from the first batch's answer, so no entry is replayed twice in one pass. */
    since: instant.optional(),
  })
  .refine((b) => b.action === "replay" || b.reason !== undefined, { message: "must say why (a sentence for the next person)", path: ["reason"] })
  .refine((b) => b.action !== "replay" || b.reason === undefined, { message: "is for mark_failed and resolve; a replay records its runs", path: ["reason"] })
  .refine((b) => b.action === "replay" || b.since === undefined, { message: "is for replay batches", path: ["since"] });

/**
 * POST /api/admin/dead-letter-queue/bulk { action, filter, reason?, max?, since? }: one action on
 * the pending entries a filter selects (preview them with GET /api/admin/dead-letter-queue and
 * the same fields), audited as one row with its count. mark_failed and resolve settle up to 500
 * (200 { count, jobs, remaining }); replay counts a replay against up to `max` (default 10) of
 * them, each within its job's replay limit, answers 202 { count, executionIds, remaining,
 * notReplayable, since } and runs them one after another after the response: once they have
 * run (GET /api/admin/runs/<executionId>/progress), send the next batch with `since`, until
 * `remaining` is 0 (batches at once would replay one job's entries at once, and all but one
 * would be skipped as already running).
 */
export function handleBulkDeadLetters(request: Request, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  return adminRoute(request, "dead-letter bulk action", async ({ actor }) => {
    const body = await parseJsonBody(request, bulkBodySchema);
    const selection = toSelection(body.filter);
    const deps = operationDeps(await getRuntime());
    if (body.action === "replay") {
      const batch = await prepareBulkReplay(deps, actor, { selection, max: body.max, since: body.since ? new Date(body.since) : null });
      const executionIds = batch.replays.map((r) => r.executionId);
      if (executionIds.length > 0) runAfterResponse(`admin bulk replay of ${executionIds.length}`, () => batch.run(() => budgetLeftMs(maxDurationSeconds, t0)));
      return json(
        {
          success: true,
          action: body.action,
          count: executionIds.length,
          replays: batch.replays.map((r) => ({ id: r.entry.id, jobName: r.job.name, executionId: r.executionId })),
          remaining: batch.remaining,
          notReplayable: batch.notReplayable,
          since: batch.since,
          message:
            executionIds.length > 0
              ? `Replaying ${executionIds.length} entr${executionIds.length === 1 ? "y" : "ies"} one after another after this response; ${batch.remaining} more to replay.`
              : `Nothing to replay${batch.notReplayable ? `: ${batch.notReplayable} entr${batch.notReplayable === 1 ? "y is" : "ies are"} out of replays or of a removed job (mark them failed or resolve them)` : ""}.`,
        },
        executionIds.length > 0 ? 202 : 200,
      );
    }
    const outcome = body.action === "resolve" ? "resolved" : "permanently_failed";
    const result = await settleSelection(deps, actor, { selection, outcome, reason: body.reason!, max: body.max });
    return json({
      success: true,
      action: body.action,
      count: result.count,
      jobs: result.jobs,
      remaining: result.remaining,
      message: `${outcome === "resolved" ? "Resolved" : "Marked permanently failed"}: ${result.count} entr${result.count === 1 ? "y" : "ies"}${result.remaining ? `; ${result.remaining} more match (send it again)` : ""}.`,
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
