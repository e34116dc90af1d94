import { verifyCronRequest } from "../auth/cron-secret";
import { budgetLeftMs } from "../cron/budget";
import type { JobDefinition } from "../cron/define-job";
import { isUuid } from "../cron/ids";
import { runTrigger, type TriggerOutcome } from "../cron/run-job";
import { isOccurrence, slotAt, withoutBounds, type Schedule } from "../cron/schedule";
import { scheduleInWords, scheduleNotation } from "../dashboard/format";
import { isSlotTrigger, RUN_TRIGGERS, SKIP_REASONS, type RunTrigger } from "../cron/vocabulary";
import { loadEnv, type Env } from "../env";
import { HttpError, json as jsonResponse, problemResponse, toErrorResponse } from "./http";
import { idempotencyKeyOf, parseWith, readJsonBody, refuseControlCharacters, requireJob } from "./parse";
import { requireRunInput } from "../cron/input";
import { z } from "zod";
import { getRuntime } from "../app/runtime";
import { staleVercelSchedule, VERCEL_CRON_SCHEDULE_HEADER } from "../vercel/crons";
import { getRegistry } from "../jobs";
import { isShuttingDown, recordOutcome } from "../app/shutdown";
import { watchTickThrottled } from "../app/tick-watch";
import { systemClock } from "../cron/clock";
import { runAfterResponse } from "./admin-http";

/**
 * What a caller of the cron routes may ask for: every trigger but replay, which only the admin's
 * dead-letter retry starts, and backfill, which only a backfill's runner starts (its slots, its
 * progress and its cancel live in cron_backfills: POST /api/admin/cron-jobs/<job>/backfill).
 */
const TRIGGERS_FROM_CALLERS: readonly RunTrigger[] = RUN_TRIGGERS.filter((t) => t !== "replay" && t !== "backfill");

/**
 * What the cron routes check before anything else (nothing is written for a refused request):
 * the CRON_SECRET, then whether this server is shutting down. A response when refused.
 */
export function refuseTrigger(request: Request, env: Env): Response | null {
  const auth = verifyCronRequest(request, env);
  if (!auth.ok) return problemResponse(auth);
  if (isShuttingDown()) {
    return problemResponse({ status: 503, code: "shutting_down", message: "This server is shutting down and takes no new triggers; retry against another instance or after the restart." });
  }
  return null;
}

/** The trigger a request asks for: Vercel Cron's GET is scheduled; a POST is manual unless it says otherwise. */
function triggerOf(request: Request, url: URL): RunTrigger {
  const asked = url.searchParams.get("trigger") ?? request.headers.get("x-crondeck-trigger");
  if (asked !== null) {
    const trigger = TRIGGERS_FROM_CALLERS.find((t) => t === asked);
    if (!trigger) throw new HttpError(400, "invalid_trigger", `trigger must be one of ${TRIGGERS_FROM_CALLERS.join(", ")}; got "${asked.slice(0, 40)}"`);
    return trigger;
  }
  return request.method === "GET" ? "schedule" : "manual";
}

/** The slot a trigger runs: the one asked for (an occurrence, not in the future), or the current one for a slot trigger. */
function slotOf(url: URL, trigger: RunTrigger, job: JobDefinition, now: number): Date | null {
  const slotParam = url.searchParams.get("slot");
  if (slotParam !== null) {
    const parsed = new Date(slotParam);
    if (Number.isNaN(parsed.getTime())) throw new HttpError(400, "invalid_slot", "slot must be an ISO 8601 timestamp such as 2026-11-24T01:00:00Z.");
    // Read without startAt/endAt: a slot of the schedule outside the window reaches the engine,
    // which records it as an outside_window skip (one rule, in run-job.ts).
    if (!isOccurrence(withoutBounds(job.schedule), parsed)) {
      throw new HttpError(400, "invalid_slot", `slot ${parsed.toISOString()} is not an occurrence of ${scheduleDescription(job.schedule)}.`);
    }
    if (parsed.getTime() > now + 60_000) throw new HttpError(400, "invalid_slot", "slot is in the future.");
    return parsed;
  }
  if (trigger === "catchup") throw new HttpError(400, "invalid_slot", "trigger=catchup needs slot=<the missed slot, ISO 8601>.");
  if (!isSlotTrigger(trigger)) return null;
  const slot = slotAt(withoutBounds(job.schedule), new Date(now));
  if (!slot) throw new HttpError(409, "no_slot", `${job.name} has no slot at or before ${new Date(now).toISOString()}: it runs ${scheduleDescription(job.schedule)}.`);
  return slot;
}

/** "every 90 minutes (every 90m)", "\"0 1 * * *\" (Europe/Paris)": how an error message names a schedule. */
function scheduleDescription(schedule: Schedule): string {
  if (schedule.kind === "every" || schedule.kind === "once") {
    const words = scheduleInWords(scheduleNotation(schedule)) ?? "";
    return `${words.charAt(0).toLowerCase()}${words.slice(1)} (${scheduleNotation(schedule)})`;
  }
  return `"${schedule.cron}" (${schedule.timezone})`;
}

const manualBodySchema = z.strictObject({ input: z.unknown().optional() });

/**
 * A manual POST's body: empty, or `{ "input": {...} }` checked by the job's input schema (400
 * invalid_input naming the field, nothing run). Only a manual run reads its body: a scheduler's
 * call runs its slot with the job's default input.
 */
async function manualInputOf(request: Request, job: JobDefinition): Promise<unknown> {
  const body = parseWith(manualBodySchema, await readJsonBody(request, '{"input": {"days": 7}}'), "body");
  return requireRunInput(job, body.input);
}

/** Authenticates, finds the job, derives the slot and runs the trigger; maps every outcome to JSON. */
export async function handleExecute(request: Request, rawJobName: string, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  try {
    const env = loadEnv();
    const refused = refuseTrigger(request, env);
    if (refused) return refused;
    const job = requireJob(rawJobName, getRegistry(env));
    const runtime = await getRuntime();
    // The slot is checked against the job as it runs now: a tick job's overridden schedule decides
    // which slots it has (the engine applies the same overrides to the run itself).
    const effective = runtime.engine.resolveJob ? await runtime.engine.resolveJob(job) : job;

    const url = new URL(request.url);
    refuseControlCharacters(Object.fromEntries(url.searchParams), "query");
    const trigger = triggerOf(request, url);
    const idempotencyKey = idempotencyKeyOf(request);
    let retryOf: string | null = null;
    if (trigger === "retry") {
      retryOf = url.searchParams.get("run");
      if (!retryOf || !isUuid(retryOf)) throw new HttpError(400, "invalid_run", "trigger=retry needs run=<the run id of a run waiting for its retry>.");
    }
    const scheduledFor = slotOf(url, trigger, effective, Date.now());
    const input = trigger === "manual" && request.method === "POST" ? await manualInputOf(request, job) : null;
    // A call from a vercel.json older than the registry: flagged on the run, in the server log and in the answer.
    const stale = staleVercelSchedule(request.headers.get(VERCEL_CRON_SCHEDULE_HEADER), job, env.CRON_PLAN);
    if (stale) console.warn(`[crondeck] warning: ${stale.message}`);
    const runJob: JobDefinition = stale
      ? {
          ...job,
          handler: (ctx) => {
            ctx.log(`warning: ${stale.message}`, { vercelSchedule: stale.sent, registrySchedule: stale.expected });
            return job.handler(ctx);
          },
        }
      : job;

    const outcome = await runTrigger(runtime.engine, {
      job: runJob,
      trigger,
      scheduledFor,
      idempotencyKey,
      retryOf,
      actor: trigger === "manual" ? "api" : null,
      input,
      budgetMs: budgetLeftMs(maxDurationSeconds, t0),
    });
    recordOutcome(outcome);
    await runtime.observers.flush();
    // The tick cannot report that it stopped; a run of any job checks on it (once a minute per process), after the answer.
    runAfterResponse("tick watch", () => watchTickThrottled({ db: runtime.database.db, env, notify: runtime.observers.notify, now: new Date((runtime.engine.clock ?? systemClock).now()) }));
    return outcomeResponse(outcome, stale ? { staleVercelSchedule: { sent: stale.sent, expected: stale.expected, fix: stale.fix } } : {});
  } catch (error) {
    return toErrorResponse(error, `execute ${rawJobName.slice(0, 60)}`);
  }
}

/** The answer to a trigger; `extra` fields (such as a stale-schedule flag) join the body. */
export function outcomeResponse(outcome: TriggerOutcome, extra: Record<string, unknown> = {}): Response {
  const json = (body: Record<string, unknown>, status?: number) => jsonResponse({ ...body, ...extra }, status);
  if (outcome.kind === "skipped") {
    return json({
      success: true,
      skipped: true,
      reason: outcome.reason,
      jobName: outcome.jobName,
      execution: { id: outcome.runId, status: "skipped", scheduledFor: outcome.scheduledFor?.toISOString() ?? null, trigger: outcome.trigger, startedAt: outcome.startedAt.toISOString() },
      message: `Skipped ${outcome.jobName}: ${SKIP_REASONS[outcome.reason]}`,
    });
  }
  if (outcome.kind === "waiting") {
    // Nothing was recorded: the tick dispatches the slot again once it may run (202: accepted, not run yet).
    return json(
      {
        success: true,
        waiting: true,
        reason: outcome.reason,
        jobName: outcome.jobName,
        execution: { id: null, status: "waiting", scheduledFor: outcome.scheduledFor?.toISOString() ?? null, trigger: outcome.trigger },
        message: `${outcome.jobName} waits: ${outcome.message}`,
      },
      202,
    );
  }
  const run = outcome.run;
  const execution = {
    id: run.id,
    status: run.status,
    scheduledFor: run.scheduledFor?.toISOString() ?? null,
    startedAt: run.startedAt.toISOString(),
    completedAt: run.completedAt.toISOString(),
    duration: run.durationMs,
    attempts: run.attempts,
    trigger: run.trigger,
    ...(run.retryDeferred ? { retryDeferred: true, nextRetryAt: run.nextRetryAt?.toISOString() } : {}),
  };
  // The handler ran but this response cannot claim its result: the run log has the truth.
  if (run.notRecorded === "lease_lost") {
    const by = run.takenOverBy ? `run ${run.takenOverBy}` : "another run";
    return json(
      {
        success: false,
        code: "lease_lost",
        error: `${run.jobName}'s lease was taken over by ${by} before this run's result (${run.status}) could be written; this run's attempts are recorded on it as lease lost.`,
        jobName: run.jobName,
        takenOverBy: run.takenOverBy,
        execution,
      },
      409,
    );
  }
  if (run.notRecorded === "store_unavailable") {
    return json(
      {
        success: false,
        code: "result_unrecorded",
        error: `${run.jobName} ran (${run.status}) but the database did not take its result; the run stays started until its lease expires and the tick's sweep closes it. Do not retry blindly: the handler's work is done.`,
        jobName: run.jobName,
        execution,
      },
      503,
    );
  }
  if (run.status === "replaced") {
    return json({ success: true, replaced: true, jobName: run.jobName, execution, message: `${run.jobName} was stopped by a newer trigger (overlap: replace)` });
  }
  const completed = run.status === "completed";
  return json(
    {
      success: completed,
      jobName: run.jobName,
      execution,
      message: completed
        ? `${run.jobName} completed in ${run.durationMs}ms`
        : run.status === "retry_scheduled"
          ? `${run.jobName} failed attempt ${run.attempts}; the next attempt is due at ${run.nextRetryAt?.toISOString()} and the tick will start it`
          : `${run.jobName} ${run.status === "timed_out" ? "timed out" : "failed"} after ${run.attempts} attempt(s)`,
      ...(completed ? {} : { error: run.error }),
    },
    completed ? 200 : 500,
  );
}
