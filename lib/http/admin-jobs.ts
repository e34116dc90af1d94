import { randomUUID } from "node:crypto";
import { after } from "next/server";
import { z } from "zod";
import { runTrigger } from "../cron/run-job";
import { categoriesOf, jobHistory, JOB_SORTS, JOB_STATE_FILTERS, jobsOverview, jobState, RUN_STATUSES, runningJobs, summarize, HISTORY_SORTS } from "../db/admin-queries";
import { setPaused, toggleJob } from "../db/commands/jobs";
import { recordAudit } from "../db/audit";
import { recoverJob } from "../db/dead-letters";
import { getRegistry } from "../jobs";
import { HttpError, json } from "./http";
import { adminRoute, emptyBodySchema, inTransaction, noteSchema, parseJsonBody, parseQuery, requireJob } from "./admin-http";
import { describeJob } from "./jobs-api";
import { getRuntime } from "../app/runtime";

/** Leaves time after a run started by after() to write its result before the platform stops the function. */
const FINISH_MARGIN_MS = 2_000;
const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,200}$/;

const keysOf = (map: ReadonlyMap<string, unknown>) => [...map.keys()] as [string, ...string[]];

export const jobsListQuerySchema = z.object({
  sort: z.enum(keysOf(JOB_SORTS)).optional(),
  order: z.enum(["asc", "desc"]).optional(),
  category: z.string().trim().min(1).max(50).optional(),
  search: z.string().trim().max(100).optional(),
  state: z.enum(keysOf(JOB_STATE_FILTERS)).optional(),
});

/** GET /api/admin/cron-jobs */
export function handleListJobs(request: Request): Promise<Response> {
  return adminRoute(request, "list jobs", async ({ url }) => {
    const query = parseQuery(url, jobsListQuerySchema);
    const { database } = await getRuntime();
    const jobs = getRegistry().list();
    const filtered = Boolean(query.category || query.search || query.state);
    const [overview, all, running] = await Promise.all([
      jobsOverview(database.db, jobs, { sort: query.sort, order: query.order, category: query.category, search: query.search || null, state: query.state }),
      filtered ? jobsOverview(database.db, jobs) : Promise.resolve(null),
      runningJobs(database.db),
    ]);
    const byName = new Map(jobs.map((j) => [j.name, j]));
    return json({
      success: true,
      generatedAt: new Date().toISOString(),
      summary: summarize(all ?? overview, running.length),
      jobs: overview.map((o) => ({ ...describeJob(byName.get(o.name)!), ...o })),
      categories: categoriesOf(jobs),
      runningJobs: running,
    });
  });
}

export const historyQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  days: z.coerce.number().int().min(1).max(90).default(30),
  status: z.enum(RUN_STATUSES).optional(),
  trigger: z.enum(["schedule", "manual", "retry", "replay", "catchup", "tick"]).optional(),
  sort: z.enum(keysOf(HISTORY_SORTS)).optional(),
  order: z.enum(["asc", "desc"]).optional(),
});

/** GET /api/admin/cron-jobs/[jobName]/history */
export function handleJobHistory(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "job history", async ({ url }) => {
    const job = requireJob(rawName);
    const query = parseQuery(url, historyQuerySchema);
    const { database } = await getRuntime();
    const [state, history] = await Promise.all([jobState(database.db, job.name, job.enabled), jobHistory(database.db, job.name, query)]);
    return json({
      success: true,
      jobName: job.name,
      job: { ...describeJob(job), ...state },
      days: query.days,
      stats: history.stats,
      history: history.history,
      timeline: history.timeline,
      granularity: history.granularity,
    });
  });
}

export const toggleBodySchema = z.strictObject({ enabled: z.boolean() });

/** POST /api/admin/cron-jobs/[jobName]/toggle { enabled } */
export function handleToggle(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "toggle", async ({ auth }) => {
    const job = requireJob(rawName);
    const { enabled } = await parseJsonBody(request, toggleBodySchema);
    const { database } = await getRuntime();
    await inTransaction(database.db, async (tx) => {
      await toggleJob(tx, job.name, enabled, auth.actor);
      await recordAudit(tx, { actor: auth.actor, action: enabled ? "job.enable" : "job.disable", target: job.name, detail: { enabled, via: auth.via }, ipAddress: auth.ip });
    });
    return json({ success: true, jobName: job.name, enabled, message: `${job.name} is ${enabled ? "enabled" : "disabled"}.` });
  });
}

export const pauseBodySchema = z.strictObject({ note: noteSchema.optional() });

/** POST /api/admin/cron-jobs/[jobName]/pause and .../resume { note? } */
export function handlePause(request: Request, rawName: string, paused: boolean): Promise<Response> {
  return adminRoute(request, paused ? "pause" : "resume", async ({ auth }) => {
    const job = requireJob(rawName);
    const { note } = await parseJsonBody(request, pauseBodySchema);
    const { database } = await getRuntime();
    const changed = await inTransaction(database.db, async (tx) => {
      const names = await setPaused(tx, [job.name], paused, auth.actor, note ?? null);
      await recordAudit(tx, { actor: auth.actor, action: paused ? "job.pause" : "job.resume", target: job.name, detail: { note: note ?? null, changed: names.length > 0, via: auth.via }, ipAddress: auth.ip });
      return names.length > 0;
    });
    return json({
      success: true,
      jobName: job.name,
      paused,
      changed,
      message: changed ? `${job.name} is ${paused ? "paused" : "resumed"}.` : `${job.name} was already ${paused ? "paused" : "running on schedule"}.`,
    });
  });
}

/** POST /api/admin/cron-jobs/pause-all and resume-all { note? } */
export function handlePauseAll(request: Request, paused: boolean): Promise<Response> {
  return adminRoute(request, paused ? "pause-all" : "resume-all", async ({ auth }) => {
    const { note } = await parseJsonBody(request, pauseBodySchema);
    const names = getRegistry().list().map((j) => j.name);
    const { database } = await getRuntime();
    const changed = await inTransaction(database.db, async (tx) => {
      const changedNames = await setPaused(tx, names, paused, auth.actor, note ?? null);
      await recordAudit(tx, { actor: auth.actor, action: paused ? "job.pause_all" : "job.resume_all", target: null, detail: { note: note ?? null, jobs: changedNames, via: auth.via }, ipAddress: auth.ip });
      return changedNames;
    });
    return json({
      success: true,
      paused,
      jobs: changed,
      count: changed.length,
      message: `${changed.length} job(s) ${paused ? "paused" : "resumed"}${changed.length < names.length ? `; ${names.length - changed.length} already were` : ""}.`,
    });
  });
}

/**
 * POST /api/admin/cron-jobs/[jobName]/run: answers 202 with the run's id, then runs the job
 * after the response (next/server after()) through the engine as a manual trigger with the
 * admin as actor. A manual run ignores disabled/paused, but not the lease: if a run holds
 * it, the row with this id is a skip (already_running). An Idempotency-Key header makes a
 * second click a duplicate instead of a second run.
 */
export function handleRunNow(request: Request, rawName: string, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  return adminRoute(request, "run", async ({ auth }) => {
    const job = requireJob(rawName);
    await parseJsonBody(request, emptyBodySchema);
    const idempotencyKey = request.headers.get("idempotency-key");
    if (idempotencyKey !== null && !IDEMPOTENCY_KEY_RE.test(idempotencyKey)) {
      throw new HttpError(400, "invalid_idempotency_key", "Idempotency-Key: must be 1-200 visible ASCII characters.", { field: "Idempotency-Key" });
    }
    const runtime = await getRuntime();
    const executionId = randomUUID();
    await recordAudit(runtime.database.db, { actor: auth.actor, action: "job.run", target: job.name, detail: { executionId, idempotencyKey, via: auth.via }, ipAddress: auth.ip });
    after(async () => {
      try {
        await runTrigger(runtime.engine, {
          job,
          trigger: "manual",
          scheduledFor: null,
          idempotencyKey,
          actor: auth.actor,
          runId: executionId,
          budgetMs: maxDurationSeconds * 1000 - (Date.now() - t0) - FINISH_MARGIN_MS,
        });
      } catch (error) {
        console.error(`[crondeck] admin run ${job.name} (${executionId}): ${error instanceof Error ? error.message : String(error)}`.slice(0, 500));
      }
    });
    return json(
      {
        success: true,
        jobName: job.name,
        executionId,
        message: `${job.name} will start right after this response.`,
        note: `Follow it at GET /api/admin/runs/${executionId} or in the job's history. If another run of ${job.name} holds its lease, this run is recorded as skipped (already_running).`,
      },
      202,
    );
  });
}

/** POST /api/admin/cron-jobs/[jobName]/recover: clears the dead-letter pause and the failure counters. */
export function handleRecover(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "recover", async ({ auth }) => {
    const job = requireJob(rawName);
    const { note } = await parseJsonBody(request, pauseBodySchema);
    const { database } = await getRuntime();
    const result = await inTransaction(database.db, async (tx) => {
      const r = await recoverJob(tx, job.name, auth.actor);
      await recordAudit(tx, { actor: auth.actor, action: "job.recover", target: job.name, detail: { ...r, note: note ?? null, via: auth.via }, ipAddress: auth.ip });
      return r;
    });
    return json({
      success: true,
      jobName: job.name,
      ...result,
      message: result.wasDeadLettered || result.wasPaused ? `${job.name} is back on schedule; its failure counters are reset.` : `${job.name} was not paused; its failure counters are reset.`,
    });
  });
}
