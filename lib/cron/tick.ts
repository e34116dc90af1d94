import { sleepOn, systemClock, type Clock } from "./clock";
import { defineJob, type JobDefinition } from "./define-job";
import { coerceError } from "./errors";
import { dependencyPendingMs, sortDependentSlots } from "./dependencies";
import type { JobRegistry } from "./registry";
import { occurrencesBetween, slotAt } from "./schedule";
import type { AbandonedRun, JobSlot, OrphanedRetry, TickJobConfig, TickStore } from "./tick-store";
import { jobStateOf, type JobState, type MissedPolicy, type RunTrigger } from "./vocabulary";

/**
 * The tick's policy, the housekeeper that runs once a minute (once a day on Vercel Hobby):
 * abandoned runs, due retries, missed slots and their catch-ups, and the jobs the tick
 * dispatches itself (non-UTC timezones, intervals, one-time jobs, `dispatch: "tick"`), each
 * jittered start delayed within the tick's budget. It reads storage through a
 * TickStore and the time through a Clock, once, at its start: every decision of one tick is for
 * that instant, so tests walk it on a fake clock. Each part of the work is isolated: one job's
 * schedule or store call failing is reported and never stops the others.
 */

/** A call of the execute route in its own invocation. */
export type DispatchRequest =
  | { jobName: string; trigger: Extract<RunTrigger, "tick" | "catchup">; slot: Date }
  | { jobName: string; trigger: Extract<RunTrigger, "retry">; runId: string };

export interface DispatchResult {
  request: DispatchRequest;
  /** The HTTP status, when the execute route answered within the wait. */
  status: number | null;
  error?: string;
}

export type Dispatcher = (request: DispatchRequest) => Promise<DispatchResult>;

export interface TickDeps {
  store: TickStore;
  /** Read once per tick. */
  clock: Pick<Clock, "now">;
  registry: JobRegistry;
  dispatch: Dispatcher;
  /** How late a delivery may be before its slot counts as missed (the plan's: Hobby fires anywhere in the hour). */
  graceMs: number;
  /** Recorded on the missed rows the tick writes. */
  holder: string;
  /**
   * After every sweep: sends the alerts of every abandoned run that still owes them, whichever
   * path abandoned it (the owed alerts are on the rows, not in the sweep's answer).
   */
  onAbandoned?: () => Promise<void>;
  /** Told about slots that should have run and did not. */
  onMissed?: (job: JobDefinition, slots: Date[]) => Promise<void>;
  /** Told about due retries of jobs no longer in the registry, which the tick settled as failed (once each). */
  onOrphaned?: (runs: OrphanedRetry[]) => Promise<void>;
  /**
   * Per-job late and long-run alerts and the threshold monitors, evaluated once per tick after
   * the missed-slot check (lib/monitors/evaluate.ts). `state` is null when the job states could
   * not be read (late alerts then wait for the next tick). When set, a job with late alerts on
   * is alerted for a slot nobody triggered as `late`, not as `missed` (see missedAlertFor).
   */
  monitors?: (input: { now: Date; jobs: ReadonlyArray<{ job: JobDefinition; state: JobState | null }> }) => Promise<MonitorsReport>;
  log?: (message: string) => void;
  /**
   * The timers a jittered job's start waits on (a fake clock's in tests); default the system's.
   * Only jobs with `jitter` wait: the others are dispatched at once.
   */
  timers?: Pick<Clock, "setTimeout" | "clearTimeout">;
  /**
   * How long after the tick's own start a jittered dispatch may still start (default
   * JITTER_BUDGET_MS): a later delay is cut to it, so every start is sent before the tick answers
   * (lib/app/tick.ts answers at 40 s whatever is left; its run's timeout is 50 s).
   */
  jitterBudgetMs?: number;
}

/** What the monitors' evaluation did in one tick. */
export interface MonitorsReport {
  /** Jobs with slots found late this tick (no run started within the late margin). */
  late: Array<{ jobName: string; slots: string[] }>;
  /** Runs found still running past their job's maxRuntime (alerted once each). */
  longRunning: Array<{ jobName: string; runId: string; runningMs: number }>;
  /** Monitors over their threshold now; `opened` this tick or still open. */
  open: Array<{ jobName: string; kind: string; value: number | null; opened: boolean }>;
  /** Monitors that cleared this tick (one recovered alert each). */
  recovered: Array<{ jobName: string; kind: string }>;
  /** Alerts delivered on at least one channel. */
  alerted: number;
  /** Parts of the evaluation that failed; the rest went on. */
  errors: TickError[];
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
  missed: Array<{ jobName: string; slots: string[]; policy: MissedPolicy; catchUps: number }>;
  dispatched: DispatchResult[];
  /** Null when no monitors are configured or their evaluation failed as a whole (see errors). */
  monitors: MonitorsReport | null;
  errors: TickError[];
}

/** At most this many due retries of one job start per tick (oldest first across jobs), 20 in all. */
export const RETRIES_PER_JOB_PER_TICK = 2;
export const RETRIES_PER_TICK = 20;
/** The most slots one tick checks for one job: a job unseen for long catches up over several ticks. */
export const MAX_SLOTS_PER_TICK = 1_000;
/** A lease that expired this long ago was not a slow heartbeat: the holder is gone or frozen. */
export const LONG_EXPIRED_SECONDS = 600;
/** The latest a jittered start is sent after the tick began: under the tick's 40 s answer, with room for the dispatch's own wait. */
export const JITTER_BUDGET_MS = 35_000;

/**
 * A jittered slot's start delay past its slot, in [0, jitterMs): a hash of the job and the slot
 * (FNV-1a), not a random draw, so two ticks of the same minute (or a retried one) agree and a
 * test can predict it, while a thousand jobs due at :00 spread over the window.
 */
export function jitterDelayMs(jobName: string, slot: Date, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  let hash = 0x811c9dc5;
  for (const ch of `${jobName} ${slot.toISOString()}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % jitterMs;
}

const messageOf = (error: unknown) => coerceError(error).message;

/** The tick claims its own minute like any job, so two deliveries of one minute do the work once. */
export const tickJob = defineJob({
  name: "crondeck-tick",
  schedule: "* * * * *",
  description: "Housekeeping: abandoned runs, durable retries, missed slots, timezone dispatch",
  category: "system",
  timeout: "50s",
  // The tick never fails its own run (runTick isolates each part and reports its errors, which
  // are alerted): should it ever, or should its run be abandoned, it must neither dead-letter
  // nor pause itself and stop all housekeeping.
  deadLetter: { pauseAfter: 0 },
  // Its duration swings with how much it catches up: no regression alerts (tick_late watches it instead).
  alerts: { afterConsecutiveFailures: 1, regression: false },
  handler: () => {
    throw new Error("the tick runs through /api/cron/tick");
  },
});

/** One tick at the clock's time; what failed is in the report's errors, never thrown. */
export async function runTick(deps: TickDeps): Promise<TickReport> {
  const now = new Date(deps.clock.now());
  const log = deps.log ?? (() => {});
  const report: TickReport = { abandoned: [], retries: [], orphaned: [], missed: [], dispatched: [], monitors: null, errors: [] };
  const isolated = async (scope: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      const message = messageOf(error);
      report.errors.push({ scope, error: message });
      log(`tick: ${scope} failed: ${message}`);
    }
  };
  /** Started at once, awaited at the end: each dispatch is its own invocation. */
  const dispatch = (request: DispatchRequest) => deps.dispatch(request).catch((error): DispatchResult => ({ request, status: null, error: messageOf(error) }));
  const jobs = deps.registry.list();
  const names = jobs.map((j) => j.name);

  // 1. Expired leases: their holders died.
  await isolated("sweep", async () => {
    report.abandoned = await deps.store.sweepExpiredLeases();
    for (const a of report.abandoned) {
      const warning = a.expiredSecondsAgo > LONG_EXPIRED_SECONDS ? " WARNING: expired long ago (the holder is most likely gone)" : "";
      log(`abandoned ${a.jobName} run ${a.runId}: ${a.holder} held it ${a.heldForSeconds}s, expired ${a.expiredSecondsAgo}s ago${warning}`);
    }
    // Also when this sweep found nothing: a claim, a shutdown or a cleared lease may have
    // abandoned runs since the last tick, and they owe their alerts too (sent once each).
    await deps.onAbandoned?.().catch((error) => log(`abandoned-run alerts failed: ${messageOf(error)}`));
  });

  // 2. Deferred retries that are due, each in its own invocation; those of jobs gone from the
  // registry can never run: settled, not retried forever.
  await isolated("orphaned retries", async () => {
    report.orphaned = await deps.store.settleOrphanedRetries(now, names);
    for (const o of report.orphaned) log(`settled ${o.jobName} run ${o.runId} as failed: ${o.error}`);
    if (report.orphaned.length > 0) await deps.onOrphaned?.(report.orphaned).catch((error) => log(`orphaned-retry alerts failed: ${messageOf(error)}`));
  });
  const retries: Promise<DispatchResult>[] = [];
  await isolated("retries", async () => {
    const due = await deps.store.dueRetries(now, names, { perJob: RETRIES_PER_JOB_PER_TICK, limit: RETRIES_PER_TICK });
    for (const r of due) retries.push(dispatch({ jobName: r.jobName, trigger: "retry", runId: r.runId }));
  });

  // 3. Missed slots and catch-ups, job by job; 4. the slots due now of the jobs the tick owns.
  // Without the job states nothing is known of bookmarks or pauses: the missed-slot check and
  // the catch-ups wait for the next tick (moving bookmarks now would lose the slots in between);
  // the jobs the tick owns are still dispatched, and the route checks their state itself.
  let configs: Map<string, TickJobConfig> | null = null;
  await isolated("job states", async () => {
    configs = await deps.store.jobConfigs(names);
  });
  const catchUps: Array<{ job: JobDefinition; slot: Date; result: Promise<DispatchResult> }> = [];
  const owned: JobSlot[] = [];
  /** Dependent jobs with a slot held for its upstream (or dispatched only now): not late while they wait. */
  const waitingOnUpstream = new Set<string>();
  for (const job of jobs) {
    await isolated(job.name, async () => {
      const config = configs?.get(job.name);
      const active = jobStateOf(job.enabled, config) === "enabled";
      const waited = configs ? await checkMissed(deps, job, config, active, now, report, log) : null;
      if (waited?.held) waitingOnUpstream.add(job.name);
      // A dependent job's slots skipped upstream_failed are queued here too once the upstream's replay succeeds.
      if (configs && active && (job.missed.policy !== "skip" || job.dependsOn.length > 0)) {
        const slot = await deps.store.nextPendingCatchUp(job.name, now);
        if (slot) catchUps.push({ job, slot, result: dispatch({ jobName: job.name, trigger: "catchup", slot }) });
      }
      if (active && job.dispatch === "tick") {
        // Every kind: a cron or interval slot, a one-time job's one slot; null before a bounded
        // job's first slot or a one-time job's slot, and past endAt the last slot is old.
        const slot = slotAt(job.schedule, now);
        // Only the slot that is due now: older ones are the missed-slot check's business.
        if (slot && now.getTime() - slot.getTime() < deps.graceMs) owned.push({ jobName: job.name, slot });
      }
      // A dependent job's slot that waited for its upstream goes first, one per tick, so its
      // slots run in order and never overlap; the slot due now is dispatched on a later tick
      // (a dependent slot is due when its upstream settles: see checkMissed).
      if (waited?.next && active) {
        const at = owned.findIndex((o) => o.jobName === job.name);
        if (at >= 0) owned.splice(at, 1);
        owned.push({ jobName: job.name, slot: waited.next });
      }
    });
  }
  // A slot already claimed (a second tick within its grace) is not dispatched again: the
  // execute route would only answer "duplicate". Should the store not answer, all are dispatched.
  let claimed = new Set<string>();
  if (owned.length > 0) {
    await isolated("dispatch", async () => {
      claimed = new Set((await deps.store.claimedSlots(owned)).map(slotKey));
    });
  }
  const jitterOf = new Map(jobs.map((j) => [j.name, j.jitterMs]));
  const timers = deps.timers ?? systemClock;
  const jitterEnd = now.getTime() + (deps.jitterBudgetMs ?? JITTER_BUDGET_MS);
  const dispatches = owned
    .filter((s) => !claimed.has(slotKey(s)))
    .map(async (s) => {
      // Jitter moves the start only: the request still names the slot (scheduled_for), and the
      // run's started_at shows when it began. Never before the slot, never past the budget.
      const jitterMs = jitterOf.get(s.jobName) ?? 0;
      if (jitterMs > 0) {
        const startAt = Math.min(s.slot.getTime() + jitterDelayMs(s.jobName, s.slot, jitterMs), jitterEnd);
        await sleepOn({ now: () => 0, setTimeout: (fn, ms) => timers.setTimeout(fn, ms), clearTimeout: (handle) => timers.clearTimeout(handle) }, startAt - now.getTime());
      }
      return dispatch({ jobName: s.jobName, trigger: "tick", slot: s.slot });
    });

  // 5. Late and long runs, threshold monitors: while the dispatches are in flight. Its own parts
  // are isolated inside it (their errors come back in its report); a throw here is the whole step's.
  const monitors = deps.monitors;
  if (monitors) {
    await isolated("monitors", async () => {
      const states: Map<string, TickJobConfig> | null = configs;
      // A dependent job whose slot waits for its upstream is not late: its late check waits for the
      // next tick (its bookmark stays), when the slot has run or is still held.
      const watched = (job: JobDefinition) => (waitingOnUpstream.has(job.name) ? { ...job, alerts: { ...job.alerts, lateAlerts: false } } : job);
      const input = { now, jobs: jobs.map((job) => ({ job: watched(job), state: states ? jobStateOf(job.enabled, states.get(job.name)) : null })) };
      report.monitors = await monitors(input);
      for (const e of report.monitors.errors) {
        report.errors.push(e);
        log(`tick: ${e.scope} failed: ${e.error}`);
      }
    });
  }

  report.retries = await Promise.all(retries);
  const caughtUp = await Promise.all(catchUps.map(async (c) => ({ ...c, result: await c.result })));
  for (const c of caughtUp) {
    // A catch-up the route refuses for good (a 4xx other than a conflict) would block the job's
    // queue: taken out and reported. Any other failure leaves it pending for the next tick, and so
    // does a refused credential (401/403: Deployment Protection or another CRON_SECRET), which is
    // the deployment's to fix, not the slot's.
    const status = c.result.status;
    if (status !== null && status >= 400 && status < 500 && !KEEP_CATCH_UP_ON.has(status)) {
      await isolated(c.job.name, async () => {
        await deps.store.dropCatchUp(c.job.name, c.slot);
        throw new Error(`the execute route refused the catch-up of ${c.slot.toISOString()} with ${status}; it was taken out of the queue`);
      });
    }
  }
  report.dispatched = [...caughtUp.map((c) => c.result), ...(await Promise.all(dispatches))];
  return report;
}

/** Answers to a catch-up's dispatch that leave it queued for the next tick although they are 4xx. */
const KEEP_CATCH_UP_ON = new Set([401, 403, 409, 429]);

const slotKey = (s: JobSlot) => `${s.jobName} ${s.slot.toISOString()}`;

/**
 * Slots of `job` expected between its bookmark and now minus the grace that got no run:
 * recorded as missed once each, queued for catch-up per the job's `missed` policy, reported.
 * The bookmark only moves forward, so a clock that went back re-checks nothing.
 */
async function checkMissed(
  deps: TickDeps,
  job: JobDefinition,
  config: TickJobConfig | undefined,
  active: boolean,
  now: Date,
  report: TickReport,
  log: (message: string) => void,
): Promise<{ next: Date | null; held: boolean } | null> {
  const horizon = new Date(now.getTime() - deps.graceMs);
  const checkedUntil = config?.missedCheckedUntil;
  // First sight of this job: nothing before now was expected of it. A paused or disabled job
  // misses nothing: checking resumes from now on.
  if (!checkedUntil || !active) return deps.store.setMissedCheckedUntil(job.name, horizon).then(() => null);
  if (horizon <= checkedUntil) return null;
  const expected = occurrencesBetween(job.schedule, checkedUntil, horizon, MAX_SLOTS_PER_TICK);
  let until = expected.length === MAX_SLOTS_PER_TICK ? expected[expected.length - 1] : horizon;
  // dependsOn: a slot whose upstream is still on it is not missed; it is held (the bookmark
  // stays before it) until the upstream settles, then dispatched (lib/cron/dependencies.ts).
  let candidates = expected;
  let waited: { next: Date | null; held: boolean } | null = null;
  if (job.dependsOn.length > 0 && deps.store.slotRows) {
    const sorted = await sortDependentSlots({ slotRows: deps.store.slotRows.bind(deps.store) }, deps.registry, job, expected, now, { pendingMs: dependencyPendingMs(deps.graceMs) });
    candidates = sorted.rest;
    const kept = [...sorted.hold, ...sorted.dispatch].sort((x, y) => x.getTime() - y.getTime());
    if (kept.length > 0 && kept[0].getTime() - 1 < until.getTime()) until = new Date(kept[0].getTime() - 1);
    waited = { next: sorted.dispatch[0] ?? null, held: kept.length > 0 };
  }
  const missed = await deps.store.recordMissedSlots(job.name, candidates, deps.holder);
  await deps.store.setMissedCheckedUntil(job.name, until);
  if (missed.length === 0) return waited;
  const wanted = catchUpsFor(job.missed, missed);
  log(`${job.name}: ${missed.length} missed slot(s), policy ${job.missed.policy}: ${wanted.length} catch-up run(s)`);
  report.missed.push({ jobName: job.name, slots: missed.map((s) => s.toISOString()), policy: job.missed.policy, catchUps: wanted.length });
  await deps.store.scheduleCatchUps(job.name, wanted, now);
  if (missedAlertFor(job, deps.monitors !== undefined)) await deps.onMissed?.(job, missed).catch((error) => log(`missed-run alert for ${job.name} failed: ${messageOf(error)}`));
  return waited;
}

/**
 * A slot nobody triggered is alerted once: as `late` when the tick evaluates late alerts (its
 * monitors step is configured) and the job has them on, whatever its margin (shorter than the
 * plan's grace, equal to it by default, or longer), else as `missed`. So the two never both fire
 * for one slot; the slot is still recorded as missed and caught up per the job's `missed` policy.
 */
export function missedAlertFor(job: Pick<JobDefinition, "alerts">, lateAlertsEvaluated: boolean): boolean {
  return !(lateAlertsEvaluated && job.alerts.lateAlerts);
}

/** The missed slots a job catches up on: none (skip), the latest (once), or the latest `max` (all). */
function catchUpsFor(missed: JobDefinition["missed"], slots: readonly Date[]): Date[] {
  if (missed.policy === "all") return slots.slice(-missed.max);
  if (missed.policy === "once") return slots.slice(-1);
  return [];
}
