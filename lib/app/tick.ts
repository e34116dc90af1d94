import type { AlertDispatcher, AlertEvent } from "../alerts";
import { redactAlertError } from "../alerts/redact";
import { systemClock, type Clock } from "../cron/clock";
import type { JobDefinition } from "../cron/define-job";
import { runTrigger, type TriggerOutcome } from "../cron/run-job";
import { runTick as runTickPolicy, tickJob, type Dispatcher, type DispatchResult, type TickDeps as TickPolicyDeps, type TickError, type TickReport } from "../cron/tick";
import type { OrphanedRetry } from "../cron/tick-store";
import type { Db } from "../db/client";
import { PostgresMonitorStore } from "../db/queries/monitors";
import { PostgresTickStore } from "../db/tick-store";
import { evaluateMonitors } from "../monitors/evaluate";
import { effectiveRegistry, overrideCacheFor } from "../overrides/store";
import { monitorSettingsFromEnv, SYSTEM_ROUTING, type MonitorEnv } from "../monitors/policy";
import { secretsOf, type Env } from "../env";
import { deliveryGraceMs, type VercelPlan } from "../vercel/crons";
import { protectionHeaders, refusedDispatchError } from "../vercel/dispatch";
import { dashboardUrl } from "./observers";
import type { Runtime } from "./runtime";
import { recordOutcome } from "./shutdown";

export { tickJob } from "../cron/tick";
export type { DispatchRequest, DispatchResult, Dispatcher, TickError, TickReport } from "../cron/tick";

/** The tick over the app's database: the policy in lib/cron/tick.ts with the Postgres store. */
export interface TickDeps extends Omit<TickPolicyDeps, "store" | "clock" | "graceMs" | "monitors"> {
  db: Db;
  plan: VercelPlan;
  /** The instant the tick acts for (a fake clock's, in tests); default the clock's time. */
  now?: Date;
  clock?: Pick<Clock, "now">;
  /**
   * Late and long-run alerts and the threshold monitors (lib/monitors), alerted through `notify`
   * (the runtime's observers: the same channels, windows and cron_alerts rows). Absent: not evaluated.
   */
  monitors?: TickMonitors;
}

export interface TickMonitors {
  env: MonitorEnv & Pick<Env, "NEXT_PUBLIC_APP_URL">;
  notify: Pick<AlertDispatcher, "notify">["notify"];
}

/** The monitoring step of the tick over the app's database. */
export function tickMonitors(db: Db, plan: VercelPlan, monitors: TickMonitors, log?: (message: string) => void): NonNullable<TickPolicyDeps["monitors"]> {
  const settings = monitorSettingsFromEnv(monitors.env);
  const store = new PostgresMonitorStore(db);
  return (input) =>
    evaluateMonitors(
      {
        store,
        notify: monitors.notify,
        settings,
        graceMs: deliveryGraceMs(plan),
        system: { jobName: tickJob.name, category: tickJob.category },
        urlFor: (jobName, runId) => dashboardUrl(monitors.env, jobName, runId),
        log,
      },
      input,
    );
}

/**
 * The housekeeping of one tick: abandoned runs, due retries, missed slots, the jobs the tick
 * dispatches, the monitors. The policy and the monitors see each job with its run-time overrides
 * (lib/overrides: missed policy, schedule, alert thresholds, maxRuntime), read once per tick
 * through the process's cache; if they cannot be read, the code's definitions apply and the
 * tick reports it.
 */
export async function runTick(deps: TickDeps): Promise<TickReport> {
  const { db, plan, now, clock, monitors, registry, ...rest } = deps;
  const at = now ? { now: () => now.getTime() } : (clock ?? systemClock);
  const evaluate = monitors ? tickMonitors(db, plan, monitors, rest.log) : undefined;
  let effective = registry;
  let overridesError: TickError | null = null;
  try {
    effective = await effectiveRegistry(registry, overrideCacheFor(db));
  } catch (error) {
    overridesError = { scope: "overrides", error: `could not read the run-time overrides (the code's definitions applied): ${error instanceof Error ? error.message : String(error)}` };
  }
  const report = await runTickPolicy({ ...rest, registry: effective, store: new PostgresTickStore(db), clock: at, graceMs: deliveryGraceMs(plan), monitors: evaluate });
  return {
    ...report,
    errors: [...(overridesError ? [overridesError] : []), ...report.errors, ...refusedDispatches([...report.retries, ...report.dispatched])],
  };
}

/**
 * Dispatches refused outright (401/403: Deployment Protection in front of the execute route,
 * or another CRON_SECRET; a redirect the tick does not follow): none of them can run until the setting is fixed, so they are
 * the tick's errors (and alerted), once per origin and message, naming the jobs.
 */
export function refusedDispatches(results: readonly DispatchResult[]): TickError[] {
  const byError = new Map<string, string[]>();
  for (const r of results) {
    if (r.status !== null && (r.status === 401 || r.status === 403 || (r.status >= 300 && r.status < 400)) && r.error) byError.set(r.error, [...(byError.get(r.error) ?? []), r.request.jobName]);
  }
  return [...byError].map(([error, names]) => ({ scope: "dispatch", error: `${error} (${[...new Set(names)].join(", ")} not run)` }));
}

/**
 * Calls the execute route over HTTP with the cron secret (and the Deployment Protection bypass
 * when Vercel set one), waiting at most `waitMs` for an answer: the run goes on in its own
 * invocation whether or not the tick waits for it. A 401/403 answer carries an error that says
 * whose refusal it was and the fix (see refusedDispatches).
 */
export function httpDispatcher(baseUrl: string, secret: string, env: Pick<Env, "VERCEL_AUTOMATION_BYPASS_SECRET"> = {}, waitMs = 1_500): Dispatcher {
  const bypass = protectionHeaders(env);
  const bypassSent = Object.keys(bypass).length > 0;
  return async (request) => {
    const url = new URL(`/api/cron/execute/${encodeURIComponent(request.jobName)}`, baseUrl);
    url.searchParams.set("trigger", request.trigger);
    if (request.trigger === "retry") url.searchParams.set("run", request.runId);
    else url.searchParams.set("slot", request.slot.toISOString());
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), waitMs);
    const send = () => fetch(url, { method: "POST", headers: { authorization: `Bearer ${secret}`, "user-agent": "crondeck-tick/1.0", ...bypass }, signal: controller.signal, redirect: "manual" });
    try {
      // A kept-alive connection the deployment closed as the request went out fails before any
      // answer: sent once more, on a new connection. The route runs a slot once, so should the
      // first have arrived after all, the second is recorded as a duplicate delivery.
      const response = await send().catch((error: unknown) => {
        if (controller.signal.aborted || !isConnectionReset(error)) throw error;
        return send();
      });
      await response.body?.cancel().catch(() => {});
      if (response.status === 401 || response.status === 403) {
        return { request, status: response.status, error: refusedDispatchError(response.status, response.headers.get("content-type"), url.origin, bypassSent) };
      }
      if (response.status >= 300 && response.status < 400) {
        // Not followed: a protection login page or another host would take the trigger as a GET, or not at all.
        const to = response.headers.get("location");
        return { request, status: response.status, error: `${url.origin} answered ${response.status} with a redirect${to ? ` to ${new URL(to, url).origin}` : ""}: the tick does not follow redirects; set NEXT_PUBLIC_APP_URL to the URL the app answers on` };
      }
      return { request, status: response.status };
    } catch (error) {
      if (controller.signal.aborted) return { request, status: null, error: `still running after ${waitMs}ms (continues in its own invocation)` };
      return { request, status: null, error: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The socket errors of a connection closed under a request (fetch wraps them as its `cause`). */
const CONNECTION_RESET = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);
function isConnectionReset(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === "string" && CONNECTION_RESET.has(code);
}

/**
 * The tick answers before its own timeout (50 s) even when part of its work hangs: a timed-out
 * tick would be a failed run, and the tick's work is reported and alerted, never failed.
 */
const TICK_DEADLINE_MS = 40_000;

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
      await alerts.notify(event(tickJob.name, `the tick could not finish ${errors.length} part(s) of its work (the rest went on): ${text}`, { parts: errors.length }), SYSTEM_ROUTING);
    },
    async orphaned(runs: OrphanedRetry[]): Promise<void> {
      const byJob = new Map<string, OrphanedRetry[]>();
      for (const r of runs) byJob.set(r.jobName, [...(byJob.get(r.jobName) ?? []), r]);
      for (const [jobName, list] of byJob) {
        await alerts.notify(event(jobName, `${list[0].error}; ${list.length} deferred retr${list.length === 1 ? "y was" : "ies were"} settled as failed`, { settledRetries: list.length }, list[0].runId, list[0].scheduledFor), SYSTEM_ROUTING);
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

/**
 * One delivery of the tick: claims the current minute like any job (a second delivery within
 * the minute is a duplicate and does nothing), then does the housekeeping as that run,
 * reaching the execute route at `baseUrl` for the runs it dispatches.
 */
export async function deliverTick(runtime: Runtime, options: { baseUrl: string; budgetMs: number }): Promise<TriggerOutcome> {
  const { env, engine, observers } = runtime;
  const now = new Date((engine.clock ?? systemClock).now());
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const job = tickRunJob(
    {
      db: runtime.database.db,
      registry: runtime.registry,
      dispatch: httpDispatcher(options.baseUrl, env.CRON_SECRET!, env),
      plan: env.CRON_PLAN,
      holder: engine.holder,
      now,
      onMissed: observers.onMissed,
      onAbandoned: observers.onAbandoned,
      monitors: { env, notify: observers.notify },
    },
    tickAlerts(env, observers),
  );
  const outcome = await runTrigger(engine, { job, trigger: "schedule", scheduledFor: minute, budgetMs: options.budgetMs });
  recordOutcome(outcome);
  await observers.flush();
  return outcome;
}
