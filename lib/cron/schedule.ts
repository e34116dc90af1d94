import { CronExpressionParser } from "cron-parser";

/**
 * Schedule maths. cron-parser alone accepts an empty string, 4-field and 6-field
 * expressions and only fails on an unknown timezone when asked for a date, so the
 * expression and the zone are checked here first.
 *
 * DST rule (cron-parser's, pinned by tests): a local time that a spring-forward gap
 * skips fires once, shifted by the gap (02:30 Europe/Paris -> 03:30 local); a local
 * time that a fall-back overlap repeats fires once, at its first occurrence.
 */

const FIELD_RANGES: Array<[string, number, number]> = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day of month", 1, 31],
  ["month", 1, 12],
  ["day of week", 0, 7],
];
const NAMES: Record<number, Record<string, number>> = {
  3: Object.fromEntries(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].map((n, i) => [n, i + 1])),
  4: Object.fromEntries(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"].map((n, i) => [n, i])),
};
const ATOM_RE = /^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/(\d+))?$/;

function fieldValue(raw: string, index: number): number {
  const named = NAMES[index]?.[raw.toUpperCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(raw)) throw new Error(`${FIELD_RANGES[index][0]} field has "${raw}", which is not a number`);
  return Number(raw);
}

/** Returns an error message for a bad 5-field cron expression, or null when it is valid. */
export function cronExpressionError(expression: string): string | null {
  if (typeof expression !== "string" || expression.trim() === "") return "the cron expression is empty: write 5 fields, such as \"0 1 * * *\"";
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return `"${expression}" has ${fields.length} fields; write exactly 5 (minute hour day-of-month month day-of-week), such as "0 1 * * *"`;
  for (let i = 0; i < 5; i++) {
    const [name, min, max] = FIELD_RANGES[i];
    for (const part of fields[i].split(",")) {
      const atom = ATOM_RE.exec(part);
      if (!atom) return `the ${name} field "${fields[i]}" is not valid cron syntax`;
      if (atom[2] !== undefined && Number(atom[2]) === 0) return `the ${name} field "${fields[i]}" steps by 0`;
      if (atom[1] === "*") continue;
      try {
        for (const v of atom[1].split("-").map((raw) => fieldValue(raw, i))) {
          if (v < min || v > max) return `the ${name} field "${fields[i]}" has ${v}, outside ${min}-${max}`;
        }
      } catch (error) {
        return (error as Error).message;
      }
    }
  }
  try {
    CronExpressionParser.parse(expression, { tz: "UTC" });
  } catch (error) {
    return `"${expression}" is not a valid cron expression: ${(error as Error).message}`;
  }
  return null;
}

/** True when the runtime knows the IANA timezone. */
export function isValidTimezone(timezone: string): boolean {
  if (typeof timezone !== "string" || timezone === "") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

export interface Schedule {
  cron: string;
  timezone: string;
}

/**
 * The slot a scheduled trigger at `now` belongs to: the latest occurrence at or before
 * `now` in the job's timezone. A Hobby-plan call at 01:37 for "0 1 * * *" is the 01:00 slot.
 */
export function slotAt(schedule: Schedule, now: Date): Date {
  // cron-parser's prev() and next() disagree around DST (prev() misses a gap-shifted
  // occurrence and sees a repeated local time twice), and next() is the one that decides
  // when a job fires. So step back three occurrences with prev() and walk forward with
  // next(): the slot is the last forward occurrence at or before now. prev() is strictly
  // before its start and works in whole seconds, hence the start one second past now.
  const after = new Date(Math.floor(now.getTime() / 1000) * 1000 + 1000);
  const back = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: after });
  back.prev();
  back.prev();
  const start = back.prev().toDate();
  const forward = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: new Date(start.getTime() - 1000) });
  let slot = start;
  for (;;) {
    const next = forward.next().toDate();
    if (next.getTime() > now.getTime()) return slot;
    slot = next;
  }
}

/** The first occurrence strictly after `after`. */
export function nextRunAfter(schedule: Schedule, after: Date): Date {
  return CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: after }).next().toDate();
}

/** Occurrences in (from, to], oldest first, at most `limit`. */
export function occurrencesBetween(schedule: Schedule, from: Date, to: Date, limit = 1000): Date[] {
  const it = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: from, endDate: to });
  const out: Date[] = [];
  while (out.length < limit && it.hasNext()) out.push(it.next().toDate());
  return out;
}

/** Shortest gap between two consecutive occurrences over the next `sample` runs, in ms. */
export function minimumIntervalMs(schedule: Schedule, from: Date, sample = 48): number {
  const it = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: from });
  let previous = it.next().getTime();
  let min = Infinity;
  for (let i = 0; i < sample; i++) {
    const next = it.next().getTime();
    min = Math.min(min, next - previous);
    previous = next;
  }
  return min;
}
