import type { AlertRouting } from "../alerts/types";
import type { JobDefinition, RateThreshold } from "../cron/define-job";
import type { Env } from "../env";

/**
 * The monitors' policy as pure functions: which margin and thresholds apply to a job (its own
 * `alerts` settings over the environment's defaults), when a rate is over its threshold, and
 * when an open monitor is due for another alert. The tick's evaluation (lib/monitors/evaluate.ts)
 * asks these; the admin API and the dashboard show what they answer.
 */

/** The per-job rate monitors (vocabulary MONITOR_KINDS), each with its alerts.* setting. */
export const RATE_MONITORS = ["failure_rate", "timeout_rate", "lock_contention"] as const;
export type RateMonitorKind = (typeof RATE_MONITORS)[number];

/** Where each rate monitor's setting lives on a job definition. */
export const RATE_SETTING = { failure_rate: "failureRate", timeout_rate: "timeoutRate", lock_contention: "lockContention" } as const satisfies Record<
  RateMonitorKind,
  keyof JobDefinition["alerts"]
>;

/** A rate threshold with every field decided. */
export interface Rate {
  /** Alert when more than this percent of the window's runs match (0-100). */
  abovePercent: number;
  windowMs: number;
  minRuns: number;
}

/** The environment's monitor settings (lib/env.ts), with units in the names. */
export interface MonitorSettings {
  /** Rate defaults per kind, for the fields a job leaves null. */
  rates: Record<RateMonitorKind, Rate>;
  /** dead_letter_backlog: more pending entries than this... */
  deadLetterPending: number;
  /** ...or the oldest pending one older than this. */
  deadLetterAgeMs: number;
  /** stale_lease: a lease that expired longer ago than this and is still held. */
  staleLeaseMs: number;
}

export type MonitorEnv = Pick<
  Env,
  | "CRON_ALERT_FAILURE_RATE"
  | "CRON_ALERT_TIMEOUT_RATE"
  | "CRON_ALERT_LOCK_CONTENTION"
  | "CRON_ALERT_RATE_WINDOW"
  | "CRON_ALERT_RATE_MIN_RUNS"
  | "CRON_ALERT_DLQ_PENDING"
  | "CRON_ALERT_DLQ_AGE"
  | "CRON_ALERT_STALE_LEASE"
>;

export function monitorSettingsFromEnv(env: MonitorEnv): MonitorSettings {
  const rate = (abovePercent: number): Rate => ({ abovePercent, windowMs: env.CRON_ALERT_RATE_WINDOW, minRuns: env.CRON_ALERT_RATE_MIN_RUNS });
  return {
    rates: { failure_rate: rate(env.CRON_ALERT_FAILURE_RATE), timeout_rate: rate(env.CRON_ALERT_TIMEOUT_RATE), lock_contention: rate(env.CRON_ALERT_LOCK_CONTENTION) },
    deadLetterPending: env.CRON_ALERT_DLQ_PENDING,
    deadLetterAgeMs: env.CRON_ALERT_DLQ_AGE,
    staleLeaseMs: env.CRON_ALERT_STALE_LEASE,
  };
}

/** The job's rate threshold of this kind with the environment's defaults filled in; null: off for the job. */
export function effectiveRate(job: Pick<JobDefinition, "alerts">, kind: RateMonitorKind, settings: MonitorSettings): Rate | null {
  const own: RateThreshold | null = job.alerts[RATE_SETTING[kind]];
  if (own === null) return null;
  const fallback = settings.rates[kind];
  return { abovePercent: own.abovePercent ?? fallback.abovePercent, windowMs: own.windowMs ?? fallback.windowMs, minRuns: own.minRuns ?? fallback.minRuns };
}

/**
 * How long after a slot a run must have started before the slot is late: alerts.lateAfter, or
 * the plan's delivery grace (what the missed-slot check waits too); null: no late alerts.
 */
export function lateMarginMs(job: Pick<JobDefinition, "alerts">, graceMs: number): number | null {
  if (!job.alerts.lateAlerts) return null;
  return job.alerts.lateAfterMs ?? graceMs;
}

/** Runs counted in a window, and how many of them match the monitor's condition. */
export interface RateCount {
  runs: number;
  matching: number;
}

/** The matching share in percent (0-100), or null without runs. */
export function ratePercent(count: RateCount): number | null {
  return count.runs > 0 ? (count.matching / count.runs) * 100 : null;
}

/**
 * Over the threshold: at least `minRuns` runs in the window and strictly more than `abovePercent`
 * of them matching. Fewer runs say nothing, so an open monitor clears when its window empties
 * (a job that stopped running no longer fails too often).
 */
export function rateBreached(count: RateCount, rate: Rate): boolean {
  const percent = ratePercent(count);
  return percent !== null && count.runs >= rate.minRuns && percent > rate.abovePercent;
}

/** The dead-letter queue's state and whether it is over the backlog threshold. */
export function backlogBreached(backlog: { pending: number; oldestPendingAt: Date | null }, now: Date, settings: Pick<MonitorSettings, "deadLetterPending" | "deadLetterAgeMs">): boolean {
  if (backlog.pending > settings.deadLetterPending) return true;
  return backlog.oldestPendingAt !== null && now.getTime() - backlog.oldestPendingAt.getTime() > settings.deadLetterAgeMs;
}

/**
 * An open monitor alerts when it opens, and again only once the job's re-alert window has passed
 * since its last alert (the dispatcher holds back the same incident within it too; deciding it here
 * spares a suppressed cron_alerts row per channel every tick).
 */
export function dueForAlert(monitor: { opened: boolean; alertedAt: Date | null }, now: Date, reAlertAfterMs: number): boolean {
  if (monitor.opened || monitor.alertedAt === null) return true;
  return now.getTime() - monitor.alertedAt.getTime() >= Math.max(0, reAlertAfterMs);
}

/** Where a job's alerts go (its own Slack webhook and e-mail beside the app-wide channels). */
export function routingOf(job: Pick<JobDefinition, "alerts">): AlertRouting {
  return { slackWebhook: job.alerts.slackWebhook, email: job.alerts.email, reAlertAfterMs: job.alerts.reAlertAfterMs };
}

/** System alerts (the tick's own errors, tick_late, dead-letter backlog, stale leases) go to the app-wide channels, re-alerted hourly. */
export const SYSTEM_ROUTING: AlertRouting = { slackWebhook: null, email: [], reAlertAfterMs: 3_600_000 };

/** What the dashboard and the admin API show of a job's monitoring: every effective value and where it comes from. */
export interface JobMonitorSettings {
  /** Null: late alerts are off for the job. */
  lateAfterMs: number | null;
  /** "code": alerts.lateAfter; "plan": the plan's delivery grace. */
  lateAfterFrom: "code" | "plan" | null;
  /** Null: long-run alerts are off. */
  maxRuntimeMs: number | null;
  timeoutMs: number;
  reAlertAfterMs: number;
  thresholds: Record<RateMonitorKind, { effective: Rate | null; code: RateThreshold | null; envDefault: Rate }>;
}

export function jobMonitorSettings(job: Pick<JobDefinition, "alerts" | "timeoutMs">, graceMs: number, settings: MonitorSettings): JobMonitorSettings {
  const thresholds = Object.fromEntries(
    RATE_MONITORS.map((kind) => [kind, { effective: effectiveRate(job, kind, settings), code: job.alerts[RATE_SETTING[kind]], envDefault: settings.rates[kind] }]),
  ) as JobMonitorSettings["thresholds"];
  return {
    lateAfterMs: lateMarginMs(job, graceMs),
    lateAfterFrom: job.alerts.lateAlerts ? (job.alerts.lateAfterMs === null ? "plan" : "code") : null,
    maxRuntimeMs: job.alerts.maxRuntimeMs,
    timeoutMs: job.timeoutMs,
    reAlertAfterMs: job.alerts.reAlertAfterMs,
    thresholds,
  };
}
