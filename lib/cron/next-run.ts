import { nextRunAfter, type Schedule } from "./schedule";
import type { JobState, NotScheduledReason } from "./vocabulary";

/** What decides a job's next run besides its schedule: its state, a snooze, slots an operator skipped. */
export interface NextRunState {
  state: JobState;
  snoozedUntil: string | null;
  skipSlots: readonly string[];
}

export type NextRun = { at: Date; notScheduled: null } | { at: null; notScheduled: NotScheduledReason };

/**
 * When the schedule will next run the job, as the engine will treat that slot: nothing while
 * the job is dead-lettered, paused or disabled (and why, from NOT_SCHEDULED_REASONS); a snoozed
 * job's first slot at or after the snooze's end (slots before it are skipped as snoozed); a slot
 * an operator asked to skip is passed over.
 */
export function nextScheduledRun(schedule: Schedule, state: NextRunState, now: Date): NextRun {
  if (state.state !== "enabled") return { at: null, notScheduled: state.state };
  const snoozeEnd = state.snoozedUntil ? Date.parse(state.snoozedUntil) : Number.NaN;
  // nextRunAfter is strictly after: from 1 ms before the snooze's end, a slot at its end counts.
  let next = nextRunAfter(schedule, snoozeEnd > now.getTime() ? new Date(snoozeEnd - 1) : now);
  const skipped = new Set(state.skipSlots.map((s) => Date.parse(s)));
  for (let i = 0; next && skipped.has(next.getTime()) && i <= skipped.size; i++) next = nextRunAfter(schedule, next);
  return next ? { at: next, notScheduled: null } : { at: null, notScheduled: "ended" };
}
