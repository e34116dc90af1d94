import { defineJob, type JobDefinition } from "../cron/define-job";
import type { JobRegistry } from "../cron/registry";
import { occurrencesBetween, slotAt } from "../cron/schedule";
import type { Db } from "../db/client";
import {
  dueRetries,
  jobStates,
  recordMissedSlots,
  scheduleCatchUps,
  setMissedCheckedUntil,
  takeNextCatchUp,
} from "../db/tick-queries";
import { LONG_EXPIRED_SECONDS, sweepExpiredLeases, type AbandonedRun } from "../db/sweep";

/** A call of the execute route in its own invocation. */
export type DispatchRequest =
  | { jobName: string; trigger: "tick" | "catchup"; slot: Date }
  | { jobName: string; trigger: "retry"; runId: string };

export interface DispatchResult {
  request: DispatchRequest;
  /** The HTTP status, when the execute route answered within the wait. */
  status: number | null;
  error?: string;
}

export type Dispatcher = (request: DispatchRequest) => Promise<DispatchResult>;

export interface TickDeps {
  db: Db;
  registry: JobRegistry;
  dispatch: Dispatcher;
  plan: "hobby" | "pro";
  holder: string;
  now: Date;
  /** Told about runs the sweep found abandoned (their holders died, froze or lost the database). */
  onAbandoned?: (runs: AbandonedRun[]) => Promise<void>;
  /** Told about slots that should have run and did not. */
  onMissed?: (job: JobDefinition, slots: Date[]) => Promise<void>;
  log?: (message: string) => void;
}

export interface TickReport {
  abandoned: AbandonedRun[];
  retries: DispatchResult[];
  missed: Array<{ jobName: string; slots: string[]; policy: string; catchUps: number }>;
  dispatched: DispatchResult[];
}

/** How late a delivery may be before its slot counts as missed: Vercel Hobby fires anywhere in the hour. */
export function missedGraceMs(plan: "hobby" | "pro"): number {
  return plan === "hobby" ? 3_600_000 : 60_000;
}

/** The longest a single tick looks back for missed slots of one job. */
const MAX_SLOTS_PER_TICK = 1_000;

/**
 * The housekeeper, once a minute: abandoned runs, due retries, missed slots, and the jobs
 * the tick dispatches itself (non-UTC timezones, `dispatch: "tick"`). `now` is injected so
 * the whole thing runs against a fake clock in tests; leases expire by the database clock.
 */
export async function runTick(deps: TickDeps): Promise<TickReport> {
  const log = deps.log ?? (() => {});
  const report: TickReport = { abandoned: [], retries: [], missed: [], dispatched: [] };

  // 1. Expired leases: their holders died.
  report.abandoned = await sweepExpiredLeases(deps.db);
  for (const a of report.abandoned) {
    const warning = a.expiredSecondsAgo > LONG_EXPIRED_SECONDS ? " WARNING: expired long ago, the holder most likely crashed" : "";
    log(`abandoned ${a.jobName} run ${a.runId}: ${a.holder} held it ${a.heldForSeconds}s, expired ${a.expiredSecondsAgo}s ago${warning}`);
  }
  if (deps.onAbandoned && report.abandoned.length > 0) {
    await deps.onAbandoned(report.abandoned).catch((error) => log(`abandoned-run alerts failed: ${(error as Error).message}`));
  }

  // 2. Deferred retries that are due, each in its own invocation.
  const due = await dueRetries(deps.db, deps.now);
  report.retries = await Promise.all(due.map((r) => deps.dispatch({ jobName: r.jobName, trigger: "retry", runId: r.runId })));

  // 3. Missed slots, and 4. the jobs the tick owns.
  const jobs = deps.registry.list();
  const states = await jobStates(deps.db, jobs.map((j) => j.name));
  const grace = missedGraceMs(deps.plan);
  const horizon = new Date(deps.now.getTime() - grace);
  const dispatches: Promise<DispatchResult>[] = [];
  for (const job of jobs) {
    const state = states.get(job.name);
    const active = (state?.enabled ?? job.enabled) && !state?.paused && !state?.deadLettered;
    if (!state?.missedCheckedUntil) {
      // First sight of this job: nothing before now was expected of it.
      await setMissedCheckedUntil(deps.db, job.name, horizon);
    } else if (!active) {
      // A paused or disabled job misses nothing; resume checking from now on.
      await setMissedCheckedUntil(deps.db, job.name, horizon);
    } else if (horizon > state.missedCheckedUntil) {
      const expected = occurrencesBetween(job.schedule, state.missedCheckedUntil, horizon, MAX_SLOTS_PER_TICK);
      const until = expected.length === MAX_SLOTS_PER_TICK ? expected[expected.length - 1] : horizon;
      const missed = await recordMissedSlots(deps.db, job.name, expected, deps.holder);
      await setMissedCheckedUntil(deps.db, job.name, until);
      if (missed.length > 0) {
        const catchUps = job.missed.policy === "all" ? missed.slice(-job.missed.max) : job.missed.policy === "once" ? missed.slice(-1) : [];
        log(`${job.name}: ${missed.length} missed slot(s), policy ${job.missed.policy}: ${catchUps.length} catch-up run(s)`);
        report.missed.push({ jobName: job.name, slots: missed.map((s) => s.toISOString()), policy: job.missed.policy, catchUps: catchUps.length });
        await scheduleCatchUps(deps.db, job.name, catchUps, deps.now);
        if (deps.onMissed) await deps.onMissed(job, missed).catch((error) => log(`missed-run alert for ${job.name} failed: ${(error as Error).message}`));
      }
    }
    if (active && job.missed.policy !== "skip") {
      const slot = await takeNextCatchUp(deps.db, job.name, deps.now);
      if (slot) dispatches.push(deps.dispatch({ jobName: job.name, trigger: "catchup", slot }));
    }
    if (job.dispatch === "tick" && active) {
      const slot = slotAt(job.schedule, deps.now);
      // Only the slot that is due now: older ones are the missed-slot check's business.
      if (deps.now.getTime() - slot.getTime() < grace) dispatches.push(deps.dispatch({ jobName: job.name, trigger: "tick", slot }));
    }
  }
  report.dispatched = await Promise.all(dispatches);
  return report;
}

/** The tick claims its own minute like any job, so two deliveries of one minute do the work once. */
export const tickJob = defineJob({
  name: "crondeck-tick",
  schedule: "* * * * *",
  description: "Housekeeping: abandoned runs, durable retries, missed slots, timezone dispatch",
  category: "system",
  timeout: "50s",
  handler: () => {
    throw new Error("the tick runs through /api/cron/tick");
  },
});

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
