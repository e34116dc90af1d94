import { defineJob, type JobDefinition } from "../cron/define-job";
import type { JobRegistry } from "../cron/registry";
import { occurrencesBetween, slotAt } from "../cron/schedule";
import type { Db } from "../db/client";
import {
  dropCatchUp,
  dueRetries,
  jobStates,
  nextPendingCatchUp,
  recordMissedSlots,
  scheduleCatchUps,
  settleOrphanedRetries,
  setMissedCheckedUntil,
  type JobState,
  type OrphanedRetry,
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
  /**
   * After every sweep: sends the alerts of every abandoned run that still owes them, whichever
   * path abandoned it (the owed alerts are on the rows, not in the sweep's answer).
   */
  onAbandoned?: () => Promise<void>;
  /** Told about slots that should have run and did not. */
  onMissed?: (job: JobDefinition, slots: Date[]) => Promise<void>;
  /** Told about due retries of jobs no longer in the registry, which the tick settled as failed (once each). */
  onOrphaned?: (runs: OrphanedRetry[]) => Promise<void>;
  log?: (message: string) => void;
}

/** A part of the tick's work that failed; the rest went on. */
export interface TickError {
  /** The job whose work failed, or the step ("sweep", "retries") when it was not one job's. */
  scope: string;
  error: string;
}

export interface TickReport {
  abandoned: AbandonedRun[];
  retries: DispatchResult[];
  /** Due retries of jobs gone from the registry, settled as failed. */
  orphaned: OrphanedRetry[];
  missed: Array<{ jobName: string; slots: string[]; policy: string; catchUps: number }>;
  dispatched: DispatchResult[];
  errors: TickError[];
}

/** At most this many due retries of one job start per tick (oldest first across jobs), 20 in all. */
const RETRIES_PER_JOB_PER_TICK = 2;
const RETRIES_PER_TICK = 20;

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
  const report: TickReport = { abandoned: [], retries: [], orphaned: [], missed: [], dispatched: [], errors: [] };
  /** Each part of the work on its own: one job's schedule or query failing never stops the others. */
  const isolated = async (scope: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report.errors.push({ scope, error: message });
      log(`tick: ${scope} failed: ${message}`);
    }
  };
  const jobs = deps.registry.list();
  const names = jobs.map((j) => j.name);

  // 1. Expired leases: their holders died.
  await isolated("sweep", async () => {
    report.abandoned = await sweepExpiredLeases(deps.db);
    for (const a of report.abandoned) {
      const warning = a.expiredSecondsAgo > LONG_EXPIRED_SECONDS ? " WARNING: expired long ago (the holder is most likely gone)" : "";
      log(`abandoned ${a.jobName} run ${a.runId}: ${a.holder} held it ${a.heldForSeconds}s, expired ${a.expiredSecondsAgo}s ago${warning}`);
    }
    // Also when this sweep found nothing: a claim, a shutdown or a cleared lease may have
    // abandoned runs since the last tick, and they owe their alerts too (sent once each).
    if (deps.onAbandoned) {
      await deps.onAbandoned().catch((error) => log(`abandoned-run alerts failed: ${(error as Error).message}`));
    }
  });

  // 2. Deferred retries that are due, each in its own invocation; those of jobs gone from the
  // registry can never run: settled, not retried forever.
  await isolated("orphaned retries", async () => {
    report.orphaned = await settleOrphanedRetries(deps.db, deps.now, names);
    for (const o of report.orphaned) log(`settled ${o.jobName} run ${o.runId} as failed: ${o.error}`);
    if (deps.onOrphaned && report.orphaned.length > 0) {
      await deps.onOrphaned(report.orphaned).catch((error) => log(`orphaned-retry alerts failed: ${(error as Error).message}`));
    }
  });
  const retries: Promise<DispatchResult>[] = [];
  await isolated("retries", async () => {
    const due = await dueRetries(deps.db, deps.now, names, { perJob: RETRIES_PER_JOB_PER_TICK, limit: RETRIES_PER_TICK });
    for (const r of due) retries.push(deps.dispatch({ jobName: r.jobName, trigger: "retry", runId: r.runId }).catch((error) => failedDispatch({ jobName: r.jobName, trigger: "retry", runId: r.runId }, error)));
  });

  // 3. Missed slots, and 4. the jobs the tick owns.
  let states = new Map<string, JobState>();
  await isolated("job states", async () => {
    states = await jobStates(deps.db, names);
  });
  const grace = missedGraceMs(deps.plan);
  const horizon = new Date(deps.now.getTime() - grace);
  const dispatches: Promise<DispatchResult>[] = [];
  const catchUps: Array<{ job: JobDefinition; slot: Date; result: Promise<DispatchResult> }> = [];
  for (const job of jobs) {
    await isolated(job.name, async () => {
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
          const wanted = job.missed.policy === "all" ? missed.slice(-job.missed.max) : job.missed.policy === "once" ? missed.slice(-1) : [];
          log(`${job.name}: ${missed.length} missed slot(s), policy ${job.missed.policy}: ${wanted.length} catch-up run(s)`);
          report.missed.push({ jobName: job.name, slots: missed.map((s) => s.toISOString()), policy: job.missed.policy, catchUps: wanted.length });
          await scheduleCatchUps(deps.db, job.name, wanted, deps.now);
          if (deps.onMissed) await deps.onMissed(job, missed).catch((error) => log(`missed-run alert for ${job.name} failed: ${(error as Error).message}`));
        }
      }
      if (active && job.missed.policy !== "skip") {
        const slot = await nextPendingCatchUp(deps.db, job.name, deps.now);
        if (slot) {
          const request: DispatchRequest = { jobName: job.name, trigger: "catchup", slot };
          catchUps.push({ job, slot, result: deps.dispatch(request).catch((error) => failedDispatch(request, error)) });
        }
      }
      if (job.dispatch === "tick" && active) {
        const slot = slotAt(job.schedule, deps.now);
        // Only the slot that is due now: older ones are the missed-slot check's business.
        if (deps.now.getTime() - slot.getTime() < grace) {
          const request: DispatchRequest = { jobName: job.name, trigger: "tick", slot };
          dispatches.push(deps.dispatch(request).catch((error) => failedDispatch(request, error)));
        }
      }
    });
  }
  report.retries = await Promise.all(retries);
  const caughtUp = await Promise.all(catchUps.map(async (c) => ({ ...c, result: await c.result })));
  for (const c of caughtUp) {
    // A catch-up the route refuses for good (a 4xx other than a conflict) would block the job's
    // queue: taken out and reported. Any other failure leaves it pending for the next tick.
    const status = c.result.status;
    if (status !== null && status >= 400 && status < 500 && status !== 409 && status !== 429) {
      await isolated(c.job.name, async () => {
        await dropCatchUp(deps.db, c.job.name, c.slot);
        throw new Error(`the execute route refused the catch-up of ${c.slot.toISOString()} with ${status}; it was taken out of the queue`);
      });
    }
  }
  report.dispatched = [...caughtUp.map((c) => c.result), ...(await Promise.all(dispatches))];
  return report;
}

function failedDispatch(request: DispatchRequest, error: unknown): DispatchResult {
  return { request, status: null, error: error instanceof Error ? error.message : String(error) };
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
