import type { AlertEvent, AlertOutcome, AlertRouting } from "../alerts/types";
import type { JobDefinition } from "../cron/define-job";
import { coerceError } from "../cron/errors";
import { occurrencesBetween } from "../cron/schedule";
import type { MonitorsReport, TickError } from "../cron/tick";
import type { AlertKind, JobState } from "../cron/vocabulary";
import { backlogBreached, dueForAlert, effectiveRate, lateMarginMs, RATE_MONITORS, rateBreached, ratePercent, routingOf, SYSTEM_ROUTING, type MonitorSettings, type RateMonitorKind } from "./policy";
import { SYSTEM_MONITOR, type MonitorState, type MonitorStore } from "./store";

/**
 * The tick's monitoring step: late slots, long runs, and the threshold monitors, once per tick
 * for all jobs (one store round trip per question, not per job). Each part is isolated: one
 * failing query is reported in `errors` and the others go on.
 *
 * Alert rules:
 * - late: each slot is checked once (a bookmark per job). Late slots of a job form one incident,
 *   the `late` monitor: alerted when it opens and then per the job's reAlertAfter window while
 *   slots stay late (a job late every minute alerts once an hour, not sixty times), one
 *   `recovered` when a checked slot got its trigger again. Paused, disabled and dead-lettered
 *   jobs are not late (their slots are skipped, and an open late monitor closes without a
 *   recovery, the pause being the operator's).
 * - long_running: one alert per run (its own incident: the run id), once, while it still runs.
 * - thresholds: alert on open (the monitor's incident), again per the re-alert window while open,
 *   one `recovered` (detail.monitor = kind) when it clears.
 */

/** A job whose tick was down for long catches up on at most this many slots per tick (the latest are checked next tick). */
export const MAX_LATE_SLOTS_PER_TICK = 100;


export interface MonitorDeps {
  store: MonitorStore;
  notify: (event: AlertEvent, routing: AlertRouting) => Promise<AlertOutcome>;
  settings: MonitorSettings;
  /** The plan's delivery grace: the late margin of jobs without alerts.lateAfter. */
  graceMs: number;
  /** The job system-wide alerts are filed under (the tick's), and its category. */
  system: { jobName: string; category: string };
  /** Where the dashboard shows a job (or a run), when the app's URL is known. */
  urlFor?: (jobName: string, runId?: string | null) => string | null;
  log?: (message: string) => void;
}

export interface MonitorInput {
  now: Date;
  jobs: ReadonlyArray<{ job: JobDefinition; state: JobState | null }>;
}

export async function evaluateMonitors(deps: MonitorDeps, input: MonitorInput): Promise<MonitorsReport> {
  const { now } = input;
  const log = deps.log ?? (() => {});
  const report: MonitorsReport = { late: [], longRunning: [], open: [], recovered: [], alerted: 0, errors: [] };
  const isolated = async (scope: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      report.errors.push({ scope: `monitors: ${scope}`, error: coerceError(error).message } satisfies TickError);
    }
  };
  const url = (jobName: string, runId?: string | null) => deps.urlFor?.(jobName, runId) ?? null;
  const send = async (event: AlertEvent, routing: AlertRouting): Promise<boolean> => {
    try {
      const outcome = await deps.notify(event, routing);
      if (outcome.delivered.length > 0) report.alerted++;
      return outcome.delivered.length > 0;
    } catch (error) {
      log(`monitors: ${event.jobName}/${event.kind} alert failed: ${coerceError(error).message}`);
      return false;
    }
  };
  const event = (kind: AlertKind, jobName: string, category: string, fields: Partial<AlertEvent>): AlertEvent => ({
    kind,
    jobName,
    category,
    runId: null,
    scheduledFor: null,
    consecutiveFailures: 0,
    error: null,
    at: now,
    url: url(jobName),
    ...fields,
  });

  // The open monitors, once: which conditions are new, which cleared.
  let open: Map<string, MonitorState> | null = null;
  await isolated("open monitors", async () => {
    open = new Map((await deps.store.openMonitors()).map((m) => [monitorKey(m.jobName, m.kind), m]));
  });
  const openNow = (): Map<string, MonitorState> | null => open;
  const alerted: Array<{ jobName: string; kind: string; incidentId: string }> = [];
  const openedHere = new Set<string>();

  /** Conditions that hold: opened (or refreshed) together, one round trip per step, then alerted when due. */
  type Held = { jobName: string; kind: AlertKind; category: string; value: number | null; detail: Record<string, unknown> | null; routing: AlertRouting; alert: Partial<AlertEvent> };
  const holdAll = async (held: Held[]) => {
    if (held.length === 0) return;
    const states = await deps.store.holdMonitors(held.map((m) => ({ jobName: m.jobName, kind: m.kind, at: now, value: m.value, detail: m.detail })));
    for (const [i, m] of held.entries()) {
      const state = states[i];
      report.open.push({ jobName: m.jobName, kind: m.kind, value: m.value, opened: state.opened });
      openedHere.add(monitorKey(m.jobName, m.kind));
      if (!dueForAlert(state, now, m.routing.reAlertAfterMs)) continue;
      const alertJob = m.jobName === SYSTEM_MONITOR ? deps.system.jobName : m.jobName;
      if (await send(event(m.kind, alertJob, m.category, { incidentId: state.incidentId, ...m.alert }), m.routing)) alerted.push(state);
    }
  };
  /** The condition cleared: close an open monitor with one recovered alert. */
  const clears = async (m: { jobName: string; kind: AlertKind; category: string; routing: AlertRouting; silent?: boolean }) => {
    const key = monitorKey(m.jobName, m.kind);
    if (!openNow()?.has(key) && !openedHere.has(key)) return;
    const closed = await deps.store.closeMonitor({ jobName: m.jobName, kind: m.kind });
    if (!closed) return;
    // A paused job's late incident ends with the pause, which is the operator's doing: no recovery to announce.
    if (m.silent) return;
    report.recovered.push({ jobName: m.jobName, kind: m.kind });
    const alertJob = m.jobName === SYSTEM_MONITOR ? deps.system.jobName : m.jobName;
    const openFor = Math.round((now.getTime() - closed.openedAt.getTime()) / 1000);
    await send(event("recovered", alertJob, m.category, { incidentId: closed.incidentId, detail: { monitor: m.kind, openForSeconds: openFor } }), m.routing);
  };
  const byName = new Map(input.jobs.map((j) => [j.job.name, j]));

  // 1. Late slots.
  await isolated("late", async () => {
    if (!openNow()) throw new Error("the open monitors could not be read");
    const watched = input.jobs.filter((j) => j.state !== null && lateMarginMs(j.job, deps.graceMs) !== null);
    if (watched.length === 0) return;
    const bookmarks = await deps.store.lateBookmarks(watched.map((j) => j.job.name));
    const marks: Array<{ jobName: string; until: Date }> = [];
    const checks: Array<{ job: JobDefinition; slots: Date[] }> = [];
    for (const { job, state } of watched) {
      const horizon = new Date(now.getTime() - lateMarginMs(job, deps.graceMs)!);
      const from = bookmarks.get(job.name) ?? null;
      // First sight, or not running by choice: nothing up to the horizon is expected of it.
      if (from === null || state !== "enabled") {
        marks.push({ jobName: job.name, until: horizon });
        if (state !== "enabled") await clears({ jobName: job.name, kind: "late", category: job.category, routing: routingOf(job), silent: true });
        continue;
      }
      if (horizon <= from) continue;
      let slots: Date[];
      try {
        slots = occurrencesBetween(job.schedule, from, horizon, MAX_LATE_SLOTS_PER_TICK);
      } catch (error) {
        report.errors.push({ scope: `monitors: late ${job.name}`, error: coerceError(error).message });
        continue;
      }
      marks.push({ jobName: job.name, until: slots.length === MAX_LATE_SLOTS_PER_TICK ? slots[slots.length - 1] : horizon });
      if (slots.length > 0) checks.push({ job, slots });
    }
    const triggered = new Set((await deps.store.triggeredSlots(checks.flatMap((c) => c.slots.map((slot) => ({ jobName: c.job.name, slot }))))).map((s) => slotKey(s.jobName, s.slot)));
    const held: Held[] = [];
    const onTime: JobDefinition[] = [];
    for (const { job, slots } of checks) {
      const late = slots.filter((s) => !triggered.has(slotKey(job.name, s)));
      const routing = routingOf(job);
      if (late.length > 0) {
        const last = late[late.length - 1];
        const margin = lateMarginMs(job, deps.graceMs)!;
        report.late.push({ jobName: job.name, slots: late.map((s) => s.toISOString()) });
        held.push({
          jobName: job.name,
          kind: "late",
          category: job.category,
          value: late.length,
          detail: { slot: last.toISOString() },
          routing,
          alert: { scheduledFor: last, error: `no run started within ${Math.round(margin / 1000)}s of the slot`, detail: { lateSlots: late.length, lateAfterSeconds: Math.round(margin / 1000) } },
        });
      }
      // The latest checked slot got its trigger: the job is on time again.
      if (triggered.has(slotKey(job.name, slots[slots.length - 1]))) onTime.push(job);
    }
    await holdAll(held);
    for (const job of onTime) await clears({ jobName: job.name, kind: "late", category: job.category, routing: routingOf(job) });
    // Only after the alerts: a failed alert step leaves the slots to be checked again.
    await deps.store.setLateBookmarks(marks);
  });

  // 2. Runs still going past their maxRuntime: one alert each, before the timeout.
  await isolated("long_running", async () => {
    const watched = input.jobs.filter((j) => j.job.alerts.maxRuntimeMs !== null).map((j) => ({ jobName: j.job.name, maxRuntimeMs: j.job.alerts.maxRuntimeMs! }));
    if (watched.length === 0) return;
    for (const run of await deps.store.longRuns(watched, now)) {
      const job = byName.get(run.jobName)?.job;
      if (!job) continue;
      const runningMs = now.getTime() - run.startedAt.getTime();
      report.longRunning.push({ jobName: run.jobName, runId: run.runId, runningMs });
      // The run is its own incident: one alert per run, whatever another run alerted.
      await send(
        event("long_running", job.name, job.category, {
          runId: run.runId,
          incidentId: run.runId,
          scheduledFor: run.scheduledFor,
          url: url(job.name, run.runId),
          detail: { runningSeconds: Math.round(runningMs / 1000), maxRuntimeSeconds: Math.round(job.alerts.maxRuntimeMs! / 1000), timeoutSeconds: Math.round(job.timeoutMs / 1000), trigger: run.trigger },
        }),
        routingOf(job),
      );
    }
  });

  // 3. Per-job rate thresholds, one query for every job and kind.
  await isolated("rates", async () => {
    if (!openNow()) throw new Error("the open monitors could not be read");
    const rated = input.jobs.map(({ job }) => ({ job, rates: Object.fromEntries(RATE_MONITORS.map((k) => [k, effectiveRate(job, k, deps.settings)])) as Record<RateMonitorKind, ReturnType<typeof effectiveRate>> }));
    const asked = rated
      .map(({ job, rates }) => ({ jobName: job.name, windowsMs: Object.fromEntries(RATE_MONITORS.filter((k) => rates[k]).map((k) => [k, rates[k]!.windowMs])) }))
      .filter((j) => Object.keys(j.windowsMs).length > 0);
    const counts = asked.length > 0 ? await deps.store.rateCounts(asked, now) : new Map();
    const held: Held[] = [];
    const cleared: Array<{ job: JobDefinition; kind: RateMonitorKind }> = [];
    for (const { job, rates } of rated) {
      for (const kind of RATE_MONITORS) {
        const rate = rates[kind];
        const count = counts.get(job.name)?.[kind] ?? { runs: 0, matching: 0 };
        if (rate && rateBreached(count, rate)) {
          const percent = Math.round(ratePercent(count)! * 10) / 10;
          held.push({
            jobName: job.name,
            kind,
            category: job.category,
            value: percent,
            detail: { runs: count.runs, matching: count.matching, abovePercent: rate.abovePercent, windowMs: rate.windowMs },
            routing: routingOf(job),
            alert: { detail: { percent, runs: count.runs, matching: count.matching, thresholdPercent: rate.abovePercent, windowMinutes: Math.round(rate.windowMs / 60_000) } },
          });
        } else {
          cleared.push({ job, kind });
        }
      }
    }
    await holdAll(held);
    for (const { job, kind } of cleared) await clears({ jobName: job.name, kind, category: job.category, routing: routingOf(job) });
  });

  // 4. The dead-letter queue, system-wide.
  await isolated("dead_letter_backlog", async () => {
    if (!openNow()) throw new Error("the open monitors could not be read");
    const backlog = await deps.store.deadLetterBacklog();
    const base = { jobName: SYSTEM_MONITOR, kind: "dead_letter_backlog" as const, category: deps.system.category, routing: SYSTEM_ROUTING };
    if (backlogBreached(backlog, now, deps.settings)) {
      const ageSeconds = backlog.oldestPendingAt ? Math.round((now.getTime() - backlog.oldestPendingAt.getTime()) / 1000) : null;
      await holdAll([{
        ...base,
        value: backlog.pending,
        detail: { pending: backlog.pending, oldestPendingAt: backlog.oldestPendingAt?.toISOString() ?? null },
        alert: { detail: { pending: backlog.pending, pendingThreshold: deps.settings.deadLetterPending, oldestPendingSeconds: ageSeconds, ageThresholdSeconds: Math.round(deps.settings.deadLetterAgeMs / 1000) } },
      }]);
    } else {
      await clears(base);
    }
  });

  // 5. Leases that expired long ago and are still held (the sweep is not freeing them), per job.
  await isolated("stale_lease", async () => {
    const current = openNow();
    if (!current) throw new Error("the open monitors could not be read");
    const stale = await deps.store.staleLeases(deps.settings.staleLeaseMs);
    const heldBy = new Set(stale.map((s) => s.jobName));
    const held: Held[] = [];
    for (const lease of stale) {
      const job = byName.get(lease.jobName)?.job;
      const routing = job ? routingOf(job) : SYSTEM_ROUTING;
      held.push({
        jobName: lease.jobName,
        kind: "stale_lease",
        category: job?.category ?? deps.system.category,
        value: Math.round(lease.expiredMs / 1000),
        detail: { runId: lease.runId, holder: lease.holder },
        routing,
        alert: { runId: lease.runId, url: url(lease.jobName, lease.runId), detail: { holder: lease.holder, expiredSeconds: Math.round(lease.expiredMs / 1000), thresholdSeconds: Math.round(deps.settings.staleLeaseMs / 1000) } },
      });
    }
    await holdAll(held);
    for (const m of current.values()) {
      if (m.kind !== "stale_lease" || heldBy.has(m.jobName)) continue;
      const job = byName.get(m.jobName)?.job;
      await clears({ jobName: m.jobName, kind: "stale_lease", category: job?.category ?? deps.system.category, routing: job ? routingOf(job) : SYSTEM_ROUTING });
    }
  });

  await isolated("alerted", () => deps.store.markAlerted(alerted, now));
  return report;
}

const monitorKey = (jobName: string, kind: string) => `${jobName}\u0000${kind}`;
const slotKey = (jobName: string, slot: Date) => `${jobName}\u0000${slot.toISOString()}`;
