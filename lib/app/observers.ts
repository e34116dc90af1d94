import { AlertDispatcher, alertChannelsFromEnv, type AlertEvent, type AlertKind } from "../alerts";
import { alertsForRun, isFailure } from "../alerts/policy";
import { routingOf } from "../monitors/policy";
import { describeRegression, judgeDuration } from "../alerts/regression";
import { captureRunFailure, checkInFinished, checkInStarted, flushSentry } from "../alerts/sentry";
import { defineJob, type JobDefinition } from "../cron/define-job";
import type { JobRegistry } from "../cron/registry";
import type { Schedule } from "../cron/schedule";
import { tickJob } from "../cron/tick";
import { coerceError } from "../cron/errors";
import { redact } from "../cron/redact";
import type { EngineDeps, RunReport } from "../cron/run-job";
import type { Db } from "../db/client";
import { durationBaseline } from "../db/queries/regression";
import { takeAbandonedAlerts, type AbandonedAlertRun } from "../db/sweep";
import { PostgresTickStore } from "../db/tick-store";
import { queueDependentsAfter } from "../cron/dependencies";
import type { Env } from "../env";
import { tickScheduleFor, type VercelPlan } from "../vercel/crons";
import { runSettled, runStarted } from "./shutdown";

export interface Observers {
  onRunStarted: NonNullable<EngineDeps["onRunStarted"]>;
  onRunFinished: NonNullable<EngineDeps["onRunFinished"]>;
  /**
   * Alerts for abandoned runs, per their job's policy: every abandoned run that still owes its
   * alerts (alerts_pending on its row), whichever path abandoned it (the tick's sweep, a claim
   * that found an expired lease, a shutdown, an operator clearing a lease). Each run's alerts
   * are taken once.
   */
  onAbandoned: () => Promise<void>;
  /** Alerts for slots that should have run (the tick). */
  onMissed: (job: JobDefinition, slots: Date[]) => Promise<void>;
  /** Sends queued Sentry events before the response: serverless functions freeze after it. */
  flush: () => Promise<void>;
  /** Any other alert (the tick's own), through the same channels, windows and cron_alerts rows. */
  notify: AlertDispatcher["notify"];
}

/** Where the dashboard shows a run (or the job), when the app's URL is known. */
export function dashboardUrl(env: Pick<Env, "NEXT_PUBLIC_APP_URL">, jobName: string, runId?: string | null): string | null {
  if (!env.NEXT_PUBLIC_APP_URL) return null;
  const url = new URL(`/dashboard/admin/cron-jobs/${encodeURIComponent(jobName)}`, env.NEXT_PUBLIC_APP_URL);
  if (runId) url.searchParams.set("run", runId);
  return url.toString();
}


/**
 * The schedule a job's cron monitor expects: the tick's is the one vercel.json gives it on the
 * plan (daily on Hobby), not the every-minute schedule it claims its runs by.
 */
export function monitorScheduleFor(job: JobDefinition, plan: VercelPlan): Schedule {
  return job.name === tickJob.name ? { cron: tickScheduleFor(plan), timezone: "UTC" } : job.schedule;
}

export interface ObserverOptions {
  /** The jobs whose alert policies apply to abandoned runs. */
  registry: () => JobRegistry;
  /** Default: the channels the environment configures, on the app's clock. */
  dispatcher?: AlertDispatcher;
  /** Where the observers' own problems go (a regression check that could not read the log). Default console.warn. */
  log?: (message: string) => void;
}

/** Abandoned runs taken per round trip; a full batch means more may be owed. */
const ABANDONED_ALERTS_BATCH = 100;

/** A job no longer in the registry still gets its abandoned runs alerted, with the default policy. */
function jobFor(registry: JobRegistry, name: string): JobDefinition {
  const known = registry.get(name) ?? (name === tickJob.name ? tickJob : undefined);
  return known ?? defineJob({ name, schedule: "* * * * *", description: "no longer in the registry", handler: () => {} });
}

/**
 * What happens around every run besides the run itself: Sentry issues and cron check-ins,
 * and alerts through Slack, e-mail and the webhook when the alert policy says so. Nothing
 * here can fail a run; each channel has its own short timeout.
 */
export function createObservers(env: Env, db: Db, secrets: readonly string[], options: ObserverOptions): Observers {
  const log = options.log ?? ((m: string) => console.warn(`[crondeck] ${m}`));
  const dispatcher = options.dispatcher ?? new AlertDispatcher({ db, channels: alertChannelsFromEnv(env), secrets, log });
  const registry = options.registry;
  const checkIns = new Map<string, string | undefined>();

  const event = (kind: AlertKind, job: JobDefinition, report: RunReport): AlertEvent => ({
    kind,
    jobName: job.name,
    category: job.category,
    runId: report.id,
    scheduledFor: report.scheduledFor,
    consecutiveFailures: report.consecutiveFailures ?? 0,
    error: report.error,
    at: report.completedAt,
    url: dashboardUrl(env, job.name, report.id),
    detail: { status: report.status, attempts: report.attempts, trigger: report.trigger, durationMs: report.durationMs },
  });

  const abandonedEvent = (kind: AlertKind, job: JobDefinition, run: AbandonedAlertRun): AlertEvent => ({
    kind,
    jobName: job.name,
    category: job.category,
    runId: run.runId,
    incidentId: run.incidentId,
    scheduledFor: run.scheduledFor,
    consecutiveFailures: run.consecutiveFailures,
    error: run.error,
    at: run.completedAt,
    url: dashboardUrl(env, job.name, run.runId),
    detail: { status: "abandoned", attempts: run.attempts, trigger: run.trigger, durationMs: run.durationMs },
  });

  /**
   * A duration regression (alerts.regression): a completed, recorded run that took more than
   * `factor` times the p95 of the job's last `window` completed runs sends one `regression`
   * alert. Runs after the run is recorded, with one indexed query (durationBaseline); nothing
   * here can fail the run: its errors are logged and dropped.
   */
  const checkRegression = async (report: RunReport, job: JobDefinition): Promise<void> => {
    const setting = job.alerts.regression;
    if (!setting || report.status !== "completed" || !report.recorded) return;
    try {
      const baseline = await durationBaseline(db, { jobName: job.name, before: report.startedAt, window: setting.window });
      const verdict = judgeDuration(report.durationMs, baseline, setting);
      if (!verdict.regressed) return;
      await dispatcher.notify(
        {
          ...event("regression", job, report),
          error: describeRegression(verdict),
          detail: { durationMs: verdict.durationMs, p95Ms: verdict.p95Ms, factor: verdict.factor, runsCompared: verdict.runsCompared, trigger: report.trigger },
        },
        routingOf(job),
      );
    } catch (error) {
      log(`regression check for ${job.name} run ${report.id} failed: ${redact(coerceError(error).message, secrets)}`);
    }
  };

  /**
   * dependsOn: a completed run of a job others depend on (a replay of a slot that had failed)
   * queues their slots skipped upstream_failed for the tick to run (lib/cron/dependencies.ts).
   */
  const tickStore = new PostgresTickStore(db);
  const requeueDependents = (report: RunReport, job: JobDefinition): Promise<void> =>
    queueDependentsAfter(report, job, registry(), (name, slots) => tickStore.requeueUpstreamFailed(name, slots, report.completedAt))
      .then(() => {})
      .catch((error) => log(`queueing the dependents of ${job.name} run ${report.id} failed: ${redact(coerceError(error).message, secrets)}`));

  return {
    notify: (alert, routing) => dispatcher.notify(alert, routing),
    onRunStarted(run, job) {
      runStarted(run.id);
      checkIns.set(run.id, checkInStarted(job, env.CRON_PLAN, monitorScheduleFor(job, env.CRON_PLAN)));
    },
    async onRunFinished(report, job) {
      runSettled(report.id);
      if (report.status !== "retry_scheduled") {
        // A replaced run (overlap "replace") is not a failure: no Sentry issue, an ok check-in.
        const failed = isFailure(report.status);
        if (failed) captureRunFailure(report, job);
        checkInFinished(job, checkIns.get(report.id), failed ? "error" : "ok", report.durationMs);
        checkIns.delete(report.id);
      }
      const kinds = alertsForRun(report, job);
      await Promise.all([...kinds.map((kind) => dispatcher.notify(event(kind, job, report), routingOf(job))), checkRegression(report, job), requeueDependents(report, job)]);
    },
    async onAbandoned() {
      // The failure path already ran in the database when the run was marked abandoned (count,
      // dead letter, auto-pause); what is left is the alert policy, which needs the job's definition.
      const jobs = registry();
      for (;;) {
        const owed = await takeAbandonedAlerts(db, ABANDONED_ALERTS_BATCH);
        for (const run of owed) {
          const job = jobFor(jobs, run.jobName);
          const kinds = alertsForRun({ status: "abandoned", consecutiveFailures: run.consecutiveFailures, previousFailures: run.consecutiveFailures - 1, deadLetterId: run.deadLetterId, autoPaused: run.autoPaused, recorded: true }, job);
          await Promise.all(kinds.map((kind) => dispatcher.notify(abandonedEvent(kind, job, run), routingOf(job))));
        }
        if (owed.length < ABANDONED_ALERTS_BATCH) return;
      }
    },
    async onMissed(job, slots) {
      const last = slots[slots.length - 1];
      await dispatcher.notify(
        {
          kind: "missed",
          jobName: job.name,
          category: job.category,
          runId: null,
          scheduledFor: last,
          consecutiveFailures: 0,
          error: `${slots.length} scheduled slot(s) got no trigger, the last at ${last.toISOString()}`,
          at: new Date(),
          url: dashboardUrl(env, job.name),
          detail: { missedSlots: slots.length, policy: job.missed.policy },
        },
        routingOf(job),
      );
    },
    async flush() {
      await flushSentry();
    },
  };
}
