import type { JobDefinition } from "../cron/define-job";
import { OperationError } from "../cron/errors";
import { occurrencesBetween } from "../cron/schedule";
import type { BackfillOverlap, RunStatus, RunTrigger, SkipReason } from "../cron/vocabulary";
import type { BackfillStore, SlotRun } from "./store";

/** The most slots one backfill may run: a longer range is split by the operator, in several backfills. */
export const MAX_BACKFILL_SLOTS = 1_000;

export interface BackfillRequest {
  from: Date;
  to: Date;
  overlap: BackfillOverlap;
}

/** One slot of the range, and whether the backfill runs it. */
export interface PlannedSlot {
  slot: string;
  /** The slot's run so far (the keyed one, else the newest row for it), or null. */
  run: { id: string; status: RunStatus; trigger: RunTrigger; skipReason: SkipReason | null } | null;
  /** A run row keyed by this slot exists: the claim would answer duplicate. */
  taken: boolean;
  willRun: boolean;
}

export interface BackfillPlan {
  jobName: string;
  from: string;
  to: string;
  overlap: BackfillOverlap;
  slots: PlannedSlot[];
  /** The slots it runs, oldest first. */
  toRun: Date[];
}

const invalid = (field: string, message: string, details?: Record<string, unknown>) => new OperationError("invalid", "invalid_backfill", `${field}: ${message}`, field, details);

/**
 * The slots of `job` in [from, to], oldest first. Refused (400, naming the field): from not
 * before to, to in the future (a backfill runs the past; what is due runs on schedule), more
 * than MAX_BACKFILL_SLOTS slots.
 */
export function backfillSlots(job: JobDefinition, from: Date, to: Date, now: Date): Date[] {
  if (!Number.isFinite(from.getTime())) throw invalid("from", "must be an ISO 8601 instant such as 2026-11-01T00:00:00Z");
  if (!Number.isFinite(to.getTime())) throw invalid("to", "must be an ISO 8601 instant such as 2026-11-02T00:00:00Z");
  if (!(from.getTime() < to.getTime())) throw invalid("to", `must be after from (${from.toISOString()})`);
  if (to.getTime() > now.getTime()) throw invalid("to", `must not be in the future (now is ${now.toISOString()}); slots still to come run on schedule`);
  // occurrencesBetween is (from, to]: one millisecond earlier makes it [from, to].
  const slots = occurrencesBetween(job.schedule, new Date(from.getTime() - 1), to, MAX_BACKFILL_SLOTS + 1);
  if (slots.length > MAX_BACKFILL_SLOTS) {
    throw invalid("to", `the range holds more than ${MAX_BACKFILL_SLOTS} slots of ${job.name} (the limit per backfill); split it into shorter ranges`, { limit: MAX_BACKFILL_SLOTS });
  }
  return slots;
}

/**
 * The dry run: every slot in [from, to] with its run so far, and which ones the backfill runs.
 * overlap skip runs a slot only when no run row is keyed by it (a completed, failed or running
 * run, even a skip for already_running, holds the key: the claim would answer duplicate); a
 * missed slot, or one skipped before any claim (paused, snoozed, skip-next), has no keyed row
 * and runs. overlap all runs every slot again, beside its runs.
 */
export async function planBackfill(store: Pick<BackfillStore, "slotRuns">, job: JobDefinition, request: BackfillRequest, now: Date): Promise<BackfillPlan> {
  const slots = backfillSlots(job, request.from, request.to, now);
  const runs = await store.slotRuns(job.name, slots);
  const planned = slots.map((slot): PlannedSlot => {
    const found: SlotRun | undefined = runs.get(slot.toISOString());
    const taken = found?.taken ?? false;
    return {
      slot: slot.toISOString(),
      run: found ? { id: found.runId, status: found.status, trigger: found.trigger, skipReason: found.skipReason } : null,
      taken,
      willRun: request.overlap === "all" || !taken,
    };
  });
  return {
    jobName: job.name,
    from: request.from.toISOString(),
    to: request.to.toISOString(),
    overlap: request.overlap,
    slots: planned,
    toRun: planned.filter((p) => p.willRun).map((p) => new Date(p.slot)),
  };
}
