/**
 * Which slots Crondeck expected a job to run: one rule for `doctor` and the tick's missed-slot
 * check. A slot is expected only once Crondeck knew the job: since the first run row the job
 * left (any trigger, skips included), or since the tick's missed-slot bookmark
 * (cron_job_config.missed_checked_until), which the tick sets when it first sees a job and only
 * moves forward. With neither, nothing before now was expected: a brand-new database (or a job
 * added since) does not count the slots before it as missed, as the tick does not.
 */
export interface JobKnowledge {
  /** The tick's missed-slot bookmark for the job (null: the tick has not seen it yet). */
  missedCheckedUntil: Date | null;
  /** When the job's first row in the run log started (null: none). */
  firstRunAt: Date | null;
}

/** The instant after which the job's slots are expected, or null when none is yet. */
export function expectedSince(known: JobKnowledge): Date | null {
  const times = [known.missedCheckedUntil, known.firstRunAt].filter((t): t is Date => t !== null);
  if (times.length === 0) return null;
  return new Date(Math.min(...times.map((t) => t.getTime())));
}

/** True when `slot` was expected of the job: after the moment Crondeck first knew it. */
export function isSlotExpected(slot: Date, known: JobKnowledge): boolean {
  const since = expectedSince(known);
  return since !== null && slot.getTime() > since.getTime();
}
