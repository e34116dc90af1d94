import type { JobDefinition } from "../cron/define-job";
import { FAILURE_STATUSES, type RunStatus } from "../cron/vocabulary";
import type { AlertKind } from "./types";

/** What the alert policy needs to know about a run that ended, whichever path ended it. */
export interface RunAlertFacts {
  status: RunStatus;
  /** The job's consecutive failures once this run ended. */
  consecutiveFailures: number | null;
  /** The count before this run: a success after some is a recovery. */
  previousFailures: number | null;
  deadLetterId: string | null;
  autoPaused: boolean;
  /** False when the run's result was not written (fenced out): nothing to say. */
  recorded: boolean;
}

const FAILURES: ReadonlySet<RunStatus> = new Set<RunStatus>(FAILURE_STATUSES);

/** A run that ended in failure: failed, timed out or abandoned (not replaced, not a deferred retry). */
export function isFailure(status: RunStatus): boolean {
  return FAILURES.has(status);
}

/**
 * Which alerts a run raises once it ended (finished, or found abandoned):
 * - `failure` once the streak reaches alerts.afterConsecutiveFailures, and on every failure after
 *   it (the dispatcher's re-alert window thins those out within the incident);
 * - `dead_letter` for a dead-lettered run, under the same threshold: with the default retries 0
 *   every failure is a dead letter, and one failure below the threshold is not news;
 * - `auto_paused` whenever the run's dead letter paused the job: the schedule stopped, always said;
 * - `recovered`, once, for the first success after an alerted streak.
 * A deferred retry is not over, and a run replaced by a newer one (overlap "replace") is not a
 * failure: neither alerts.
 */
export function alertsForRun(report: RunAlertFacts, job: Pick<JobDefinition, "alerts">): AlertKind[] {
  if (!report.recorded) return [];
  const threshold = job.alerts.afterConsecutiveFailures;
  const kinds: AlertKind[] = [];
  if (report.status === "completed") {
    if ((report.previousFailures ?? 0) >= threshold) kinds.push("recovered");
    return kinds;
  }
  if (!isFailure(report.status)) return kinds;
  const reached = (report.consecutiveFailures ?? 0) >= threshold;
  if (reached) kinds.push("failure");
  if (reached && report.deadLetterId && job.alerts.onDeadLetter) kinds.push("dead_letter");
  if (report.autoPaused) kinds.push("auto_paused");
  return kinds;
}

/**
 * How long an alert of this kind holds back the next one of the same kind within the same
 * incident (the dispatcher never holds one back across incidents). An auto-pause is never held
 * back: each one stopped the schedule.
 */
export function reAlertWindowMs(kind: AlertKind, reAlertAfterMs: number): number {
  return kind === "auto_paused" ? 0 : Math.max(0, reAlertAfterMs);
}
