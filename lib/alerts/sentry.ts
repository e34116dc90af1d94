import * as Sentry from "@sentry/nextjs";
import { formatDuration } from "../format";
import type { JobDefinition } from "../cron/define-job";
import { redactDeep } from "../cron/redact";
import type { RunReport } from "../cron/run-job";
import type { Schedule } from "../cron/schedule";
import { deliveryGraceMs, type VercelPlan } from "../vercel/crons";

/**
 * Crondeck's few calls into Sentry. Every function is a no-op while Sentry has no client,
 * which is the case whenever SENTRY_DSN is unset (sentry.server.config.ts only calls init
 * with a DSN), so callers never check.
 */

/** The shape Sentry.captureCheckIn takes as its second argument. */
export interface CronMonitorConfig {
  /** A crontab read in `timezone`, or a fixed interval (an `every` schedule: Sentry's interval monitors have no offset, and need none to expect a check-in every interval). */
  schedule: { type: "crontab"; value: string } | { type: "interval"; value: number; unit: "minute" | "hour" | "day" };
  timezone: string;
  checkinMargin: number;
  maxRuntime: number;
  failureIssueThreshold: number;
  recoveryThreshold: number;
}

/**
 * Sentry puts the DSN's key (`sentry-public_key`) in the trace baggage it propagates: the
 * `baggage` header of every outgoing request (to Slack, the alert webhook, HEALTHCHECK_URLS)
 * and the dashboard pages' baggage meta tag. The key is a configured secret (lib/env.ts
 * secretsOf): each dynamic sampling context is made without it. Call once after Sentry.init.
 */
export function keepDsnKeyOutOfTraces(client = Sentry.getClient()): void {
  client?.on("createDsc", (dsc) => {
    delete dsc.public_key;
  });
}

/**
 * Sentry.init options that remove the configured secrets (lib/env.ts secretsOf, read once, on
 * the first event) from every string of every event and breadcrumb the SDK sends: the engine's
 * reports are scrubbed already; this covers whatever else the SDK captures (an unexpected
 * error's message, a logged line, a request breadcrumb).
 */
export function secretScrubbing(secrets: () => readonly string[]): Pick<Sentry.NodeOptions, "beforeSend" | "beforeBreadcrumb"> {
  let known: readonly string[] | undefined;
  const list = (): readonly string[] => {
    if (!known) {
      try {
        known = secrets();
      } catch {
        return [];
      }
    }
    return known;
  };
  return {
    beforeSend: (event) => redactDeep(event, list()),
    beforeBreadcrumb: (breadcrumb) => redactDeep(breadcrumb, list()),
  };
}

export function sentryEnabled(): boolean {
  return Boolean(Sentry.getClient());
}

/** "timed out after 30 s" and "timed out after 1.2 s" are one issue. */
export function normaliseErrorMessage(message: string): string {
  return message.replace(/\d+/g, "0").slice(0, 200);
}

/**
 * Sentry monitor settings for a job. Vercel Hobby fires a cron anywhere within its hour, so a
 * check-in may be up to 60 minutes late there; Pro fires within the minute. `schedule` is when
 * check-ins are expected, when that is not the job's own (the tick's follows the plan).
 */
export function monitorConfigFor(job: JobDefinition, plan: VercelPlan, schedule: Schedule = job.schedule): CronMonitorConfig | null {
  // A one-time job has no recurring schedule for Sentry to expect check-ins on: its check-ins go
  // without a monitor config (the monitor, if one exists, is not created or updated by them).
  if (schedule.kind === "once") return null;
  return {
    schedule: schedule.kind === "every" ? intervalOf(schedule.everyMs) : { type: "crontab", value: schedule.cron },
    timezone: schedule.kind === "every" ? "UTC" : schedule.timezone,
    checkinMargin: deliveryGraceMs(plan) / 60_000,
    maxRuntime: Math.max(1, Math.ceil(job.timeoutMs / 60_000)),
    failureIssueThreshold: job.alerts.afterConsecutiveFailures,
    recoveryThreshold: 1,
  };
}

/** The interval in the largest whole unit Sentry takes ("90m" is 90 minutes, "6h" 6 hours). */
function intervalOf(everyMs: number): { type: "interval"; value: number; unit: "minute" | "hour" | "day" } {
  if (everyMs % 86_400_000 === 0) return { type: "interval", value: everyMs / 86_400_000, unit: "day" };
  if (everyMs % 3_600_000 === 0) return { type: "interval", value: everyMs / 3_600_000, unit: "hour" };
  return { type: "interval", value: Math.round(everyMs / 60_000), unit: "minute" };
}

/**
 * Reports a failed or timed-out run as one Sentry issue per job and error message (digits
 * normalised), tagged so issues can be filtered by job, category and trigger.
 * Returns the event id, or undefined when Sentry is off.
 */
export function captureRunFailure(report: RunReport, job: JobDefinition): string | undefined {
  if (!Sentry.getClient()) return undefined;
  const message = report.error ?? (report.status === "timed_out" ? `timed out after ${formatDuration(job.timeoutMs)}` : "run failed");
  const error = new Error(message);
  error.name = report.status === "timed_out" ? "CronJobTimeout" : "CronJobFailure";
  // The handler's own stack (already redacted by the engine), so Sentry shows where it threw.
  if (report.errorStack) error.stack = report.errorStack;
  return Sentry.captureException(error, {
    tags: {
      job_name: job.name,
      category: job.category,
      trigger: report.trigger,
      attempts: String(report.attempts),
      slot: report.scheduledFor ? report.scheduledFor.toISOString() : "none",
    },
    fingerprint: ["crondeck", job.name, normaliseErrorMessage(message)],
    extra: { runId: report.id, durationMs: report.durationMs, status: report.status },
  });
}

/** Opens a Sentry cron check-in for a run (creating or updating the monitor); undefined when Sentry is off. */
export function checkInStarted(job: JobDefinition, plan: VercelPlan, schedule: Schedule = job.schedule): string | undefined {
  if (!Sentry.getClient()) return undefined;
  return Sentry.captureCheckIn({ monitorSlug: job.name, status: "in_progress" }, monitorConfigFor(job, plan, schedule) ?? undefined);
}

/** Closes the check-in opened by {@link checkInStarted}. Sentry takes the duration in seconds. */
export function checkInFinished(job: JobDefinition, checkInId: string | undefined, status: "ok" | "error", durationMs: number): void {
  if (!Sentry.getClient() || !checkInId) return;
  Sentry.captureCheckIn({ monitorSlug: job.name, status, checkInId, duration: durationMs / 1000 });
}

/**
 * Sends what is queued before a serverless function freezes. Resolves false when it ran out
 * of time (or Sentry is off); never rejects.
 */
export async function flushSentry(timeoutMs = 2_000): Promise<boolean> {
  if (!Sentry.getClient()) return false;
  try {
    return await Sentry.flush(timeoutMs);
  } catch {
    return false;
  }
}
