import type { AlertDispatcher, AlertEvent } from "../alerts";
import { redactAlertError } from "../alerts/redact";
import { runTrigger } from "../cron/run-job";
import { loadEnv, secretsOf, type Env } from "../env";
import type { OrphanedRetry } from "../cron/tick-store";
import { outcomeResponse, refuseTrigger } from "./execute";
import { toErrorResponse } from "./http";
import { dashboardUrl } from "../app/observers";
import { getRuntime } from "../app/runtime";
import { recordOutcome } from "../app/shutdown";
import type { JobDefinition } from "../cron/define-job";
import { httpDispatcher, runTick, tickJob, type TickDeps, type TickError, type TickReport } from "../app/tick";

/** Where the tick reaches the execute route: the app's public URL, the Vercel deployment, or this request's origin. */
export function appBaseUrl(env: Env, request: Request): string {
  if (env.NEXT_PUBLIC_APP_URL) return env.NEXT_PUBLIC_APP_URL;
  if (env.VERCEL_URL) return `https://${env.VERCEL_URL}`;
  return new URL(request.url).origin;
}

/**
 * The tick answers before its own timeout (50 s) even when part of its work hangs: a timed-out
 * tick would be a failed run, and the tick's work is reported and alerted, never failed.
 */
const TICK_DEADLINE_MS = 40_000;
const ROUTING = { slackWebhook: null, email: [], reAlertAfterMs: 3_600_000 };

/** The alerts the tick raises itself: parts of its work that failed, and retries it had to settle. */
export function tickAlerts(env: Env, alerts: Pick<AlertDispatcher, "notify">) {
  const secrets = secretsOf(env);
  const event = (jobName: string, error: string, detail: AlertEvent["detail"], runId: string | null = null, scheduledFor: Date | null = null): AlertEvent => ({
    kind: "failure",
    jobName,
    category: "system",
    runId,
    scheduledFor,
    consecutiveFailures: 0,
    error: redactAlertError(error, secrets),
    at: new Date(),
    url: dashboardUrl(env, jobName, runId),
    detail,
  });
  return {
    async tickErrors(errors: TickError[]): Promise<void> {
      if (errors.length === 0) return;
      const text = errors.map((e) => `${e.scope}: ${e.error}`).join("; ");
      await alerts.notify(event(tickJob.name, `the tick could not finish ${errors.length} part(s) of its work (the rest went on): ${text}`, { parts: errors.length }), ROUTING);
    },
    async orphaned(runs: OrphanedRetry[]): Promise<void> {
      const byJob = new Map<string, OrphanedRetry[]>();
      for (const r of runs) byJob.set(r.jobName, [...(byJob.get(r.jobName) ?? []), r]);
      for (const [jobName, list] of byJob) {
        await alerts.notify(event(jobName, `${list[0].error}; ${list.length} deferred retr${list.length === 1 ? "y was" : "ies were"} settled as failed`, { settledRetries: list.length }, list[0].runId, list[0].scheduledFor), ROUTING);
      }
    },
  };
}

/**
 * The tick as a job whose run never fails: each part of runTick is isolated and reports its
 * errors, which are alerted here, and a tick still working at the deadline answers anyway. A
 * failed tick run would be dead-lettered, and after `pauseAfter` of them the tick would pause
 * itself and all housekeeping with it.
 */
export function tickRunJob(deps: Omit<TickDeps, "log" | "onOrphaned">, alerts: ReturnType<typeof tickAlerts>, deadlineMs = TICK_DEADLINE_MS): JobDefinition {
  return {
    ...tickJob,
    handler: async (ctx): Promise<TickReport | { errors: TickError[] }> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), deadlineMs);
      });
      try {
        const report = await Promise.race([runTick({ ...deps, log: ctx.log, onOrphaned: alerts.orphaned }), deadline]);
        const errors = report ? report.errors : [{ scope: "tick", error: `still working after ${deadlineMs / 1000}s; the rest continues in the background` }];
        await alerts.tickErrors(errors).catch((error) => ctx.log(`tick alert failed: ${(error as Error).message}`));
        return report ?? { errors };
      } catch (error) {
        const errors = [{ scope: "tick", error: error instanceof Error ? error.message : String(error) }];
        await alerts.tickErrors(errors).catch(() => {});
        return { errors };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** GET/POST /api/cron/tick: claims the current minute, then does the housekeeping in runTick. */
export async function handleTick(request: Request, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  try {
    const env = loadEnv();
    const refused = refuseTrigger(request, env);
    if (refused) return refused;
    const runtime = await getRuntime();
    const now = new Date();
    const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const dispatch = httpDispatcher(appBaseUrl(env, request), env.CRON_SECRET!);
    const alerts = tickAlerts(env, runtime.observers);
    const job = tickRunJob(
      { db: runtime.database.db, registry: runtime.registry, dispatch, plan: env.CRON_PLAN, holder: runtime.engine.holder, now, onMissed: runtime.observers.onMissed, onAbandoned: runtime.observers.onAbandoned },
      alerts,
    );
    const outcome = await runTrigger(runtime.engine, { job, trigger: "schedule", scheduledFor: minute, budgetMs: maxDurationSeconds * 1000 - (Date.now() - t0) - 2_000 });
    recordOutcome(outcome);
    await runtime.observers.flush();
    return outcomeResponse(outcome);
  } catch (error) {
    return toErrorResponse(error, "tick");
  }
}
