import { randomUUID } from "node:crypto";
import { after } from "next/server";
import { z } from "zod";
import { JOB_NAME_RE } from "../cron/define-job";
import { runTrigger } from "../cron/run-job";
import { recordAudit } from "../db/audit";
import { beginReplay, DeadLetterError, deadLetterSummary, getDeadLetter, listDeadLetters, markPermanentlyFailed, updateDeadLetterNotes } from "../db/dead-letters";
import { json } from "./http";
import { adminRoute, emptyBodySchema, inTransaction, parseJsonBody, parseQuery, requireJob, requireUuid } from "./admin-http";
import { getRuntime } from "../app/runtime";

const FINISH_MARGIN_MS = 2_000;

export const deadLetterListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  status: z.enum(["pending", "replayed", "resolved", "permanently_failed"]).optional(),
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
      summary: { pending: summary.pending, replayed: summary.replayed, resolved: summary.resolved, permanentlyFailed: summary.permanently_failed },
    });
  });
}

/**
 * POST /api/admin/dead-letter-queue/[id]/retry: counts the replay against the entry's limit
 * now (so a limit or a settled entry answers 409 at once), then replays the run after the
 * response, for its original slot, as trigger "replay". A job may run for minutes: holding
 * the admin's request open that long would gain nothing, and the run's id is known ahead.
 */
export function handleRetryDeadLetter(request: Request, rawId: string, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  return adminRoute(request, "dead-letter retry", async ({ auth }) => {
    const id = requireUuid(rawId);
    await parseJsonBody(request, emptyBodySchema);
    const runtime = await getRuntime();
    const db = runtime.database.db;
    const existing = await getDeadLetter(db, id);
    if (!existing) throw new DeadLetterError("dead_letter_not_found", `No dead-letter entry ${id}.`);
    const job = requireJob(existing.jobName);
    const executionId = randomUUID();
    const entry = await inTransaction(db, async (tx) => {
      const e = await beginReplay(tx, id, job.deadLetter.replayLimit);
      await recordAudit(tx, { actor: auth.actor, action: "dead_letter.retry", target: id, detail: { jobName: job.name, runId: e.runId, executionId, replayCount: e.replayCount, via: auth.via }, ipAddress: auth.ip });
      return e;
    });
    after(async () => {
      try {
        await runTrigger(runtime.engine, {
          job,
          trigger: "replay",
          scheduledFor: entry.scheduledFor ? new Date(entry.scheduledFor) : null,
          replayOf: entry.runId,
          actor: auth.actor,
          runId: executionId,
          budgetMs: maxDurationSeconds * 1000 - (Date.now() - t0) - FINISH_MARGIN_MS,
        });
      } catch (error) {
        console.error(`[crondeck] admin replay ${id} (${executionId}): ${error instanceof Error ? error.message : String(error)}`.slice(0, 500));
      }
    });
    return json(
      {
        success: true,
        id,
        jobName: job.name,
        executionId,
        replayCount: entry.replayCount,
        replayLimit: job.deadLetter.replayLimit,
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
  return adminRoute(request, "dead-letter mark-failed", async ({ auth }) => {
    const id = requireUuid(rawId);
    const { reason } = await parseJsonBody(request, markFailedBodySchema);
    const { database } = await getRuntime();
    const entry = await inTransaction(database.db, async (tx) => {
      const e = await markPermanentlyFailed(tx, id, reason, auth.actor);
      await recordAudit(tx, { actor: auth.actor, action: "dead_letter.mark_failed", target: id, detail: { jobName: e.jobName, reason, via: auth.via }, ipAddress: auth.ip });
      return e;
    });
    return json({ success: true, entry });
  });
}

const nullableText = (max: number) => z.union([z.string().trim().max(max, `must be at most ${max} characters`), z.null()]);
export const notesBodySchema = z
  .strictObject({
    notes: nullableText(5000).optional(),
    assignedTo: nullableText(200).optional(),
    priority: z.enum(["low", "normal", "high", "critical"]).optional(),
  })
  .refine((b) => b.notes !== undefined || b.assignedTo !== undefined || b.priority !== undefined, { message: "send at least one of notes, assignedTo, priority", path: ["notes"] });

/** PUT /api/admin/dead-letter-queue/[id]/notes { notes, assignedTo, priority } */
export function handleUpdateNotes(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "dead-letter notes", async ({ auth }) => {
    const id = requireUuid(rawId);
    const patch = await parseJsonBody(request, notesBodySchema);
    const normalized = {
      notes: patch.notes === "" ? null : patch.notes,
      assignedTo: patch.assignedTo === "" ? null : patch.assignedTo,
      priority: patch.priority,
    };
    const { database } = await getRuntime();
    const entry = await inTransaction(database.db, async (tx) => {
      const e = await updateDeadLetterNotes(tx, id, normalized);
      await recordAudit(tx, { actor: auth.actor, action: "dead_letter.notes", target: id, detail: { jobName: e.jobName, ...normalized, via: auth.via }, ipAddress: auth.ip });
      return e;
    });
    return json({ success: true, entry });
  });
}
