import { z } from "zod";
import type { JobDefinition } from "../../cron/define-job";
import { parseDurationMs } from "../../cron/duration";
import { OperationError } from "../../cron/errors";
import { isOccurrence, nextRunAfter } from "../../cron/schedule";
import type { Actor } from "../../cron/vocabulary";
import { inTransaction } from "../../db/commands/transaction";
import { endSnooze, skipSlot, snoozeUntil, unskipSlots } from "../../db/commands/snooze";
import type { JobRuntimeState } from "../../db/queries/jobs";
import { formatDuration } from "../../format";
import type { OperationDeps } from "./deps";

/**
 * Skip the next run and snooze until (maintenance windows), one function each, for the admin
 * API, the dashboard (through the API) and the CLI. Unlike a pause, which lasts until someone
 * resumes, a snooze ends by itself at its `until`, and a skip-next is one slot. Both act only
 * on the schedule's own triggers (crondeck_claim_run): run-now, replay and backfill still run.
 * Each write and its audit row commit in one transaction (lib/db/commands/snooze.ts).
 */

/** The longest snooze: past this, pause the job (it says so until someone resumes it). */
export const MAX_SNOOZE_MS = 90 * 86_400_000;
/** How many slots may wait to be skipped at once: beyond this, a snooze says it better. */
export const MAX_SKIP_SLOTS = 100;

type Deps = Pick<OperationDeps, "db">;

const isoInstant = z.iso.datetime({ offset: true });

/**
 * An instant as the API and the CLI take it: ISO 8601 with a zone (Z or +02:00), or the
 * operation's 400 naming `field`.
 */
export function parseInstant(value: string, field: string): Date {
  if (!isoInstant.safeParse(value).success) {
    throw new OperationError("invalid", `invalid_${field}`, `${field}: "${value.slice(0, 40)}" is not an ISO 8601 instant with a zone; write it as 2026-03-29T01:00:00Z or 2026-03-29T03:00:00+02:00.`, field);
  }
  return new Date(value);
}

/** The job's next slot after `now`, or null when it has none (a one-time job after its slot, a job past its endAt). */
export function nextSlotOf(job: JobDefinition, now: Date): Date | null {
  try {
    return nextRunAfter(job.schedule, now) ?? null;
  } catch {
    return null;
  }
}

export interface SkipNextResult {
  jobName: string;
  /** The slot that will be skipped (ISO). */
  slot: string;
  /** False: that slot was skipped already. */
  changed: boolean;
  state: JobRuntimeState;
}

/**
 * Skips one slot of the job's schedule: `slot` (an occurrence after now), or the job's next slot
 * after now. Asking twice for the same slot changes nothing. The claim records the slot as a skip
 * (skip_requested) with the actor, so it is neither missed nor late.
 */
export async function skipNextRun(deps: Deps, actor: Actor, input: { job: JobDefinition; slot?: Date | null; note?: string | null; now?: Date }): Promise<SkipNextResult> {
  const { job } = input;
  const now = input.now ?? new Date();
  let slot: Date;
  if (input.slot) {
    slot = input.slot;
    if (slot.getTime() <= now.getTime()) {
      throw new OperationError("invalid", "slot_in_past", `slot: ${slot.toISOString()} is not in the future; skip a slot still to come (omit slot for the next one).`, "slot");
    }
    if (!isOccurrence(job.schedule, slot)) {
      const next = nextSlotOf(job, now);
      throw new OperationError(
        "invalid", "slot_not_occurrence",
        `slot: ${slot.toISOString()} is not a slot of ${job.name}'s schedule${next ? `; its next slot is ${next.toISOString()}` : ""}.`, "slot",
      );
    }
  } else {
    const next = nextSlotOf(job, now);
    if (!next) {
      throw new OperationError("conflict", "no_next_slot", `${job.name} has no slot after ${now.toISOString()} (${job.schedule.kind === "once" ? "a one-time job whose slot has passed" : "its schedule has ended"}): there is nothing to skip.`);
    }
    slot = next;
  }
  const note = input.note ?? null;
  return inTransaction(deps.db, async (tx) => {
    const result = await skipSlot(tx, actor, { jobName: job.name, enabledByDefault: job.enabled, slot, now, note });
    if (result.changed && result.state.skipSlots.length > MAX_SKIP_SLOTS) {
      // Thrown inside the transaction: the slot and its audit row roll back together.
      throw new OperationError("conflict", "too_many_skips", `${job.name} already has ${MAX_SKIP_SLOTS} slots to skip; snooze it until a time instead (crondeck jobs snooze ${job.name} --until <iso>).`);
    }
    return { jobName: job.name, slot: slot.toISOString(), changed: result.changed, state: result.state };
  });
}

export interface UnskipResult {
  jobName: string;
  /** The slots no longer skipped (ISO, ascending); empty: none was. */
  removed: string[];
  state: JobRuntimeState;
}

/** Takes back a skip-next: one slot, or every slot still to come when none is given. */
export async function unskipRun(deps: Deps, actor: Actor, input: { job: JobDefinition; slot?: Date | null; now?: Date }): Promise<UnskipResult> {
  const { job } = input;
  const now = input.now ?? new Date();
  const result = await inTransaction(deps.db, (tx) => unskipSlots(tx, actor, { jobName: job.name, enabledByDefault: job.enabled, slot: input.slot ?? null, now }));
  return { jobName: job.name, removed: result.removed, state: result.state };
}

export interface SnoozeResult {
  jobName: string;
  until: string;
  /** The snooze in force it replaced (ISO), or null. */
  replaced: string | null;
  state: JobRuntimeState;
}

/**
 * Snoozes the job until an instant (`until`) or for a duration from now (`for`, as "2h"):
 * every slot of its schedule before then is recorded as a skip (snoozed) with the actor, and the
 * slot at `until` itself runs. Must be in the future and at most {@link MAX_SNOOZE_MS} away; the
 * note is kept as the reason. A new snooze replaces the one in force.
 */
export async function snoozeJob(
  deps: Deps,
  actor: Actor,
  input: { job: JobDefinition; until?: Date | null; for?: string | null; note?: string | null; now?: Date },
): Promise<SnoozeResult> {
  const { job } = input;
  const now = input.now ?? new Date();
  if ((input.until == null) === (input.for == null)) {
    throw new OperationError("invalid", "invalid_until", "until: give either until (an ISO instant) or for (a duration such as \"2h\"), not both and not neither.", input.until == null ? "until" : "for");
  }
  let until: Date;
  if (input.for != null) {
    let ms: number;
    try {
      ms = parseDurationMs(input.for);
    } catch (error) {
      throw new OperationError("invalid", "invalid_for", `for: ${(error as Error).message}.`, "for");
    }
    until = new Date(now.getTime() + ms);
  } else {
    until = input.until!;
  }
  const field = input.for != null ? "for" : "until";
  if (until.getTime() <= now.getTime()) {
    throw new OperationError("invalid", `invalid_${field}`, `${field}: ${until.toISOString()} is not in the future; to end a snooze, unsnooze the job.`, field);
  }
  if (until.getTime() - now.getTime() > MAX_SNOOZE_MS) {
    throw new OperationError(
      "invalid", `invalid_${field}`,
      `${field}: a snooze lasts at most ${formatDuration(MAX_SNOOZE_MS)} (until ${new Date(now.getTime() + MAX_SNOOZE_MS).toISOString()}); for longer, pause the job.`, field,
    );
  }
  const note = input.note ?? null;
  const result = await inTransaction(deps.db, (tx) => snoozeUntil(tx, actor, { jobName: job.name, enabledByDefault: job.enabled, until, note, now }));
  return { jobName: job.name, until: until.toISOString(), replaced: result.replaced, state: result.state };
}

export interface UnsnoozeResult {
  jobName: string;
  /** The until of the snooze it ended (ISO); null: none was in force. */
  ended: string | null;
  state: JobRuntimeState;
}

/** Ends the job's snooze now: its next slot runs. No snooze in force: nothing changes. */
export async function unsnoozeJob(deps: Deps, actor: Actor, input: { job: JobDefinition; now?: Date }): Promise<UnsnoozeResult> {
  const { job } = input;
  const now = input.now ?? new Date();
  const result = await inTransaction(deps.db, (tx) => endSnooze(tx, actor, { jobName: job.name, enabledByDefault: job.enabled, now }));
  return { jobName: job.name, ended: result.ended, state: result.state };
}

/** Whether a job is snoozed at `now` (its snoozed_until still ahead). */
export function isSnoozed(state: Pick<JobRuntimeState, "snoozedUntil">, now: Date): boolean {
  return state.snoozedUntil !== null && new Date(state.snoozedUntil).getTime() > now.getTime();
}
