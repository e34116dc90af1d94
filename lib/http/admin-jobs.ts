import { z } from "zod";
import { budgetLeftMs } from "../cron/budget";
import { RUN_STATUSES, RUN_TRIGGERS } from "../cron/vocabulary";
import { describeJob, jobsDashboard } from "../app/jobs";
import { operationDeps } from "../app/operations/deps";
import { pauseOrResumeAll, pauseOrResumeJob, prepareManualRun, recoverJobNow, toggleJob } from "../app/operations/jobs";
import { getRuntime } from "../app/runtime";
import { jobMonitoring } from "../db/queries/job-detail";
import { JOB_SORTS, JOB_STATE_FILTERS, jobState } from "../db/queries/jobs";
import { monitorSettingsFromEnv } from "../monitors/policy";
import { deliveryGraceMs } from "../vercel/crons";
import { HISTORY_SORTS, jobHistory } from "../db/queries/runs";
import { json } from "./http";
import { adminRoute, noteSchema, runAfterResponse } from "./admin-http";
import { idempotencyKeyOf, oneLine, parseJsonBody, parseQuery, requireJob } from "./parse";

const keysOf = (map: ReadonlyMap<string, unknown>) => [...map.keys()] as [string, ...string[]];

export const jobsListQuerySchema = z.object({
  sort: z.enum(keysOf(JOB_SORTS)).optional(),
  order: z.enum(["asc", "desc"]).optional(),
  category: oneLine(z.string().trim().min(1).max(50)).optional(),
  search: oneLine(z.string().trim().max(100)).optional(),
  state: z.enum(keysOf(JOB_STATE_FILTERS)).optional(),
});

/** GET /api/admin/cron-jobs */
export function handleListJobs(request: Request): Promise<Response> {
  return adminRoute(request, "list jobs", async ({ url }) => {
    const query = parseQuery(url, jobsListQuerySchema);
    const { database, registry } = await getRuntime();
    const jobs = registry.list();
    const dashboard = await jobsDashboard(database.db, jobs, { sort: query.sort, order: query.order, category: query.category, search: query.search || null, state: query.state });
    const byName = new Map(jobs.map((j) => [j.name, j]));
    return json({
      success: true,
      generatedAt: new Date().toISOString(),
      summary: dashboard.summary,
      jobs: dashboard.jobs.map((o) => ({ ...describeJob(byName.get(o.name)!), ...o })),
      categories: dashboard.categories,
      runningJobs: dashboard.runningJobs,
    });
  });
}

export const historyQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  days: z.coerce.number().int().min(1).max(90).default(30),
  status: z.enum(RUN_STATUSES).optional(),
  trigger: z.enum(RUN_TRIGGERS).optional(),
  sort: z.enum(keysOf(HISTORY_SORTS)).optional(),
  order: z.enum(["asc", "desc"]).optional(),
});

/**
 * GET /api/admin/cron-jobs/[jobName]/history: the job (definition, state, and its monitoring:
 * effective late margin, max runtime and thresholds beside the code's values and the
 * environment's defaults, and its open monitors) with its history.
 */
export function handleJobHistory(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "job history", async ({ url }) => {
    const job = requireJob(rawName);
    const query = parseQuery(url, historyQuerySchema);
    const { database, env } = await getRuntime();
    const [state, history, monitoring] = await Promise.all([
      jobState(database.db, job.name, job.enabled),
      jobHistory(database.db, job.name, query),
      jobMonitoring(database.db, job, deliveryGraceMs(env.CRON_PLAN), monitorSettingsFromEnv(env)),
    ]);
    return json({
      success: true,
      jobName: job.name,
      job: { ...describeJob(job), ...state, monitoring },
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
  return adminRoute(request, "toggle", async ({ actor }) => {
    const job = requireJob(rawName);
    const { enabled } = await parseJsonBody(request, toggleBodySchema);
    await toggleJob(operationDeps(await getRuntime()), actor, { job, enabled });
    return json({ success: true, jobName: job.name, enabled, message: `${job.name} is ${enabled ? "enabled" : "disabled"}.` });
  });
}

export const pauseBodySchema = z.strictObject({ note: noteSchema.optional() });

/** POST /api/admin/cron-jobs/[jobName]/pause and .../resume { note? } */
export function handlePause(request: Request, rawName: string, paused: boolean): Promise<Response> {
  return adminRoute(request, paused ? "pause" : "resume", async ({ actor }) => {
    const job = requireJob(rawName);
    const { note } = await parseJsonBody(request, pauseBodySchema);
    const { changed } = await pauseOrResumeJob(operationDeps(await getRuntime()), actor, { job, paused, note });
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
  return adminRoute(request, paused ? "pause-all" : "resume-all", async ({ actor }) => {
    const { note } = await parseJsonBody(request, pauseBodySchema);
    const { changed, total } = await pauseOrResumeAll(operationDeps(await getRuntime()), actor, { paused, note });
    return json({
      success: true,
      paused,
      jobs: changed,
      count: changed.length,
      message: `${changed.length} job(s) ${paused ? "paused" : "resumed"}${changed.length < total ? `; ${total - changed.length} already were` : ""}.`,
    });
  });
}

/** The run-now body: nothing, or the run's input (checked by the job's schema in prepareManualRun). */
export const runNowBodySchema = z.strictObject({ input: z.unknown().optional() });

/**
 * POST /api/admin/cron-jobs/[jobName]/run: answers 202 with the run's id, then runs the job
 * after the response (next/server after()) as a manual trigger with the admin as actor. If a
 * run holds the job's lease, the row with this id is a skip (already_running). The same
 * Idempotency-Key header again (the dashboard sends one per click) answers 200 with the run
 * the first request started, `duplicate: true`, and starts nothing.
 * `{ "input": {...} }` runs it with that input, checked by the job's input schema (400
 * invalid_input naming the field, nothing recorded); no input: the job's default.
 */
export function handleRunNow(request: Request, rawName: string, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  return adminRoute(request, "run", async ({ actor }) => {
    const job = requireJob(rawName);
    const body = await parseJsonBody(request, runNowBodySchema);
    const idempotencyKey = idempotencyKeyOf(request);
    const prepared = await prepareManualRun(operationDeps(await getRuntime()), actor, { job, idempotencyKey, runInput: body.input });
    const { executionId } = prepared;
    if (prepared.duplicate) {
      return json({
        success: true,
        duplicate: true,
        jobName: job.name,
        executionId,
        message: `Already asked with this Idempotency-Key: it is run ${executionId.slice(0, 8)}; nothing new was started.`,
      });
    }
    runAfterResponse(`admin run ${job.name} (${executionId})`, () => prepared.run(budgetLeftMs(maxDurationSeconds, t0)));
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
  return adminRoute(request, "recover", async ({ actor }) => {
    const job = requireJob(rawName);
    const { note } = await parseJsonBody(request, pauseBodySchema);
    const result = await recoverJobNow(operationDeps(await getRuntime()), actor, { job, note });
    return json({
      success: true,
      jobName: job.name,
      ...result,
      message: result.wasDeadLettered || result.wasPaused ? `${job.name} is back on schedule; its failure counters are reset.` : `${job.name} was not paused; its failure counters are reset.`,
    });
  });
}
