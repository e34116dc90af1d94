import { systemClock, type Clock } from "../cron/clock";
import { defineJob, type JobDefinition } from "../cron/define-job";
import type { Schedule } from "../cron/schedule";
import { runTick as runTickPolicy, type Dispatcher, type TickDeps as TickPolicyDeps, type TickReport } from "../cron/tick";
import type { Db } from "../db/client";
import { PostgresTickStore } from "../db/tick-store";
import { tickScheduleFor, type VercelPlan } from "../vercel/crons";

export type { DispatchRequest, DispatchResult, Dispatcher, TickError, TickReport } from "../cron/tick";

/** The tick over the app's database: the policy in lib/cron/tick.ts with the Postgres store. */
export interface TickDeps extends Omit<TickPolicyDeps, "store" | "clock" | "graceMs"> {
  db: Db;
  plan: VercelPlan;
  /** The instant the tick acts for (a fake clock's, in tests); default the clock's time. */
  now?: Date;
  clock?: Pick<Clock, "now">;
}

/** How late a delivery may be before its slot counts as missed: Vercel Hobby fires anywhere in the hour. */
export function missedGraceMs(plan: VercelPlan): number {
  return plan === "hobby" ? 3_600_000 : 60_000;
}

/** The housekeeping of one tick: abandoned runs, due retries, missed slots, the jobs the tick dispatches. */
export function runTick(deps: TickDeps): Promise<TickReport> {
  const { db, plan, now, clock, ...rest } = deps;
  const at = now ? { now: () => now.getTime() } : (clock ?? systemClock);
  return runTickPolicy({ ...rest, store: new PostgresTickStore(db), clock: at, graceMs: missedGraceMs(plan) });
}

/** The tick claims its own minute like any job, so two deliveries of one minute do the work once. */
export const tickJob = defineJob({
  name: "crondeck-tick",
  schedule: "* * * * *",
  description: "Housekeeping: abandoned runs, durable retries, missed slots, timezone dispatch",
  category: "system",
  timeout: "50s",
  // The tick never fails its own run (runTick isolates each part and reports errors, which
  // tick-route alerts): should it ever, or should its run be abandoned, it must neither
  // dead-letter nor pause itself and stop all housekeeping.
  deadLetter: { pauseAfter: 0 },
  alerts: { afterConsecutiveFailures: 1 },
  handler: () => {
    throw new Error("the tick runs through /api/cron/tick");
  },
});

/**
 * The schedule a job's cron monitor expects: the tick's is the one vercel.json gives it on the
 * plan (daily on Hobby), not the every-minute schedule it claims its runs by.
 */
export function monitorScheduleFor(job: JobDefinition, plan: VercelPlan): Schedule {
  return job.name === tickJob.name ? { cron: tickScheduleFor(plan), timezone: "UTC" } : job.schedule;
}

/**
 * Calls the execute route over HTTP with the cron secret, waiting at most `waitMs` for an
 * answer: the run goes on in its own invocation whether or not the tick waits for it.
 */
export function httpDispatcher(baseUrl: string, secret: string, waitMs = 1_500): Dispatcher {
  return async (request) => {
    const url = new URL(`/api/cron/execute/${encodeURIComponent(request.jobName)}`, baseUrl);
    url.searchParams.set("trigger", request.trigger);
    if (request.trigger === "retry") url.searchParams.set("run", request.runId);
    else url.searchParams.set("slot", request.slot.toISOString());
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), waitMs);
    try {
      const response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${secret}`, "user-agent": "crondeck-tick/1.0" }, signal: controller.signal });
      await response.body?.cancel().catch(() => {});
      return { request, status: response.status };
    } catch (error) {
      if (controller.signal.aborted) return { request, status: null, error: `still running after ${waitMs}ms (continues in its own invocation)` };
      return { request, status: null, error: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  };
}
