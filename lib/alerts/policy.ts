import type { JobDefinition } from "../cron/define-job";
import type { RunReport } from "../cron/run-job";
import type { AlertKind } from "./types";

/**
 * Which alerts a finished run raises: the failure streak reaching its threshold (and every
 * failure after it, which the dispatcher's re-alert window thins out), a dead letter, an
 * auto-pause, and once, the first success after an alerted streak.
 */
export function alertsForRun(report: Pick<RunReport, "status" | "consecutiveFailures" | "previousFailures" | "deadLetterId" | "autoPaused" | "recorded">, job: Pick<JobDefinition, "alerts">): AlertKind[] {
  if (!report.recorded) return [];
  const threshold = job.alerts.afterConsecutiveFailures;
  const kinds: AlertKind[] = [];
  if (report.status === "completed") {
    if ((report.previousFailures ?? 0) >= threshold) kinds.push("recovered");
    return kinds;
  }
  if (report.status === "retry_scheduled") return kinds;
  if ((report.consecutiveFailures ?? 0) >= threshold) kinds.push("failure");
  if (report.deadLetterId && job.alerts.onDeadLetter) kinds.push("dead_letter");
  if (report.autoPaused) kinds.push("auto_paused");
  return kinds;
}
