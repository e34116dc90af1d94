/**
 * Schedule maths: every question about when a job fires (the slot of a trigger, whether an
 * instant is a slot, the slots of a period, the next run) is answered here, from one DST rule.
 *
 * A schedule is a 5-field cron expression read on the wall clock of its timezone. Each local
 * minute it matches becomes a slot, a UTC instant, by this rule:
 *
 * - A local time that exists once is that instant.
 * - A local time that a spring-forward gap skips fires once, shifted by the gap: read with the
 *   UTC offset in force before the gap (02:30 Europe/Paris on the last Sunday of March runs at
 *   03:30 CEST; with Australia/Lord_Howe's 30-minute gap 02:10 runs at 02:40; in
 *   Pacific/Chatham 03:00 runs at 04:00). A shifted time that lands on another slot is one slot.
 * - A local time that a fall-back repeats fires once, at its first occurrence, unless the
 *   schedule is an interval schedule (a `*` or a step `/` in its minute or hour field, such as
 *   `*\/30 * * * *` or `0 *\/2 * * *`): those keep to real time and fire at both occurrences.
 *
 * The expression is parsed here (not by a library) because neither cron-parser (whole-hour DST
 * handling: wrong answers, loops) nor croner (moves a skipped time to the end of the gap,
 * drops it for interval schedules) implements this rule; a brute-force oracle that enumerates
 * local minutes checks the functions below (tests/unit/schedule-oracle.test.ts). Every function
 * looks at a bounded number of days, so none can loop.
 */

import { dayOffsets, offsetMs } from "./zone-offsets";

export { isValidTimezone } from "./zone-offsets";

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
/** The longest day count in each month (February in a leap year). */
const MONTH_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * How far apart two slots can be at most: February 29 comes back within 8 years (2096 -> 2104).
 * Validation rejects an expression that never matches, so a search never needs more.
 */
const MAX_SEARCH_DAYS = 366 * 8 + 31;
/** Local days on either side of a search window: offsets move an instant by less than a day. */
const MARGIN_DAYS = 2;

/** A 5-field cron expression read on the wall clock of `timezone` (the rule above). */
export interface CronSchedule {
  kind?: "cron";
  cron: string;
  timezone: string;
}

/** Every `everyMs` in real time, on the grid epoch + offsetMs + k * everyMs (no DST rule applies). */
export interface IntervalSchedule {
  kind: "every";
  everyMs: number;
  /** 0 <= offsetMs < everyMs. */
  offsetMs: number;
}

/** One slot, at `at` (a one-time job: `runAt`). */
export interface OnceSchedule {
  kind: "once";
  at: Date;
}

/** When a job's slots are: not before startAt, not after endAt (null: unbounded). */
export interface ScheduleBounds {
  startAt?: Date | null;
  endAt?: Date | null;
}

/**
 * A job's schedule. Every function below answers for all three kinds and keeps to the bounds:
 * a slot outside [startAt, endAt] is no slot.
 */
export type Schedule = (CronSchedule | IntervalSchedule | OnceSchedule) & ScheduleBounds;

/** True when `slot` is within the schedule's startAt/endAt (both inclusive; null: unbounded). */
export function inBounds(schedule: Schedule, slot: Date): boolean {
  const t = slot.getTime();
  return (!schedule.startAt || t >= schedule.startAt.getTime()) && (!schedule.endAt || t <= schedule.endAt.getTime());
}

interface CompiledCron {
  minutes: number[];
  hours: number[];
  doms: boolean[];
  months: boolean[];
  dows: boolean[];
  /** Both day fields are restricted (not `*`): a day matches either, as in Vixie cron. */
  dayEither: boolean;
  domAny: boolean;
  dowAny: boolean;
  /** A `*` or a step in the minute or hour field: repeated local times fire at each occurrence. */
  interval: boolean;
}

function fieldValue(raw: string, index: number): number {
  const named = NAMES[index]?.[raw.toUpperCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(raw)) throw new Error(`${FIELD_RANGES[index][0]} field has "${raw}", which is not a number`);
  return Number(raw);
}

/** Parses and checks a 5-field expression: the compiled fields, or a message that says what to fix. */
function compileCron(expression: string): CompiledCron | string {
  if (typeof expression !== "string" || expression.trim() === "") return "the cron expression is empty: write 5 fields, such as \"0 1 * * *\"";
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return `"${expression}" has ${fields.length} fields; write exactly 5 (minute hour day-of-month month day-of-week), such as "0 1 * * *"`;
  const sets: boolean[][] = [];
  for (let i = 0; i < 5; i++) {
    const [name, min, max] = FIELD_RANGES[i];
    const set: boolean[] = new Array(max + 1).fill(false);
    for (const part of fields[i].split(",")) {
      const atom = ATOM_RE.exec(part);
      if (!atom) return `the ${name} field "${fields[i]}" is not valid cron syntax`;
      const step = atom[2] === undefined ? 1 : Number(atom[2]);
      if (step === 0) return `the ${name} field "${fields[i]}" steps by 0`;
      let from = min;
      let to = max;
      if (atom[1] !== "*") {
        let bounds: number[];
        try {
          bounds = atom[1].split("-").map((raw) => fieldValue(raw, i));
        } catch (error) {
          return (error as Error).message;
        }
        for (const v of bounds) if (v < min || v > max) return `the ${name} field "${fields[i]}" has ${v}, outside ${min}-${max}`;
        from = bounds[0];
        // "5/15" means 5 through the end of the range, every 15 (as in cron-parser and cronie).
        to = bounds.length === 2 ? bounds[1] : atom[2] === undefined ? bounds[0] : max;
        if (from > to) return `the ${name} field "${fields[i]}" has the range ${from}-${to}; write it from low to high`;
      } else if (i === 4) {
        to = 6;
      }
      // Overlapping values ("0,7", "*/15,30") are the same values: a set, not an error.
      for (let v = from; v <= to; v += step) set[v] = true;
    }
    sets.push(set);
  }
  if (sets[4][7]) sets[4][0] = true; // 7 is Sunday too
  const indexes = (set: boolean[]) => set.flatMap((on, v) => (on ? [v] : []));
  const compiled: CompiledCron = {
    minutes: indexes(sets[0]),
    hours: indexes(sets[1]),
    doms: sets[2],
    months: sets[3],
    dows: sets[4].slice(0, 7),
    domAny: fields[2] === "*",
    dowAny: fields[4] === "*",
    dayEither: fields[2] !== "*" && fields[4] !== "*",
    interval: /[*/]/.test(fields[0]) || /[*/]/.test(fields[1]),
  };
  // A day-of-month that no chosen month has (February 30): the job would never run.
  if (!compiled.dayEither && !compiled.domAny) {
    const possible = compiled.months.some((on, m) => on && compiled.doms.some((d, day) => d && day <= MONTH_DAYS[m]));
    if (!possible) return `"${expression}" never runs: no chosen month has that day of the month`;
  }
  return compiled;
}

const compiledCache = new Map<string, CompiledCron>();

function compiled(cron: string): CompiledCron {
  let c = compiledCache.get(cron);
  if (!c) {
    const result = compileCron(cron);
    if (typeof result === "string") throw new Error(result);
    if (compiledCache.size > 1_000) compiledCache.clear();
    compiledCache.set(cron, (c = result));
  }
  return c;
}

/** Returns an error message for a bad 5-field cron expression, or null when it is valid. */
export function cronExpressionError(expression: string): string | null {
  const result = compileCron(expression);
  return typeof result === "string" ? result : null;
}

/**
 * True for a schedule whose repeated local times fire at each occurrence (see the rule above):
 * a cron with `*` or a step in its minute or hour field, and every interval (real time, so a
 * repeated hour has its own slots); never a one-time job.
 */
export function isIntervalSchedule(schedule: Schedule): boolean {
  if (schedule.kind === "every") return true;
  if (schedule.kind === "once") return false;
  return compiled(schedule.cron).interval;
}

/** The same schedule without its startAt/endAt: what the execute route reads a call's slot from (the engine then skips one outside the window as outside_window). */
export function withoutBounds(schedule: Schedule): Schedule {
  return { ...schedule, startAt: null, endAt: null };
}

/** An interval's slot at or before `t`: the grid is epoch + offsetMs + k * everyMs. */
function gridFloor(s: IntervalSchedule, t: number): number {
  return Math.floor((t - s.offsetMs) / s.everyMs) * s.everyMs + s.offsetMs;
}

function dayMatches(c: CompiledCron, localDayMs: number): boolean {
  const d = new Date(localDayMs);
  if (!c.months[d.getUTCMonth() + 1]) return false;
  const dom = c.doms[d.getUTCDate()];
  const dow = c.dows[d.getUTCDay()];
  if (c.dayEither) return dom || dow;
  return (c.domAny || dom) && (c.dowAny || dow);
}

/** The slots of one local calendar day (its midnight as wall-clock ms), unsorted. */
function slotsOfDay(c: CompiledCron, timezone: string, localDayMs: number, out: number[]): void {
  if (!dayMatches(c, localDayMs)) return;
  const { before, after, changeAt } = dayOffsets(timezone, localDayMs);
  for (const h of c.hours) {
    for (const m of c.minutes) {
      const wall = localDayMs + h * HOUR_MS + m * MINUTE_MS;
      if (before === after) {
        out.push(wall - before);
        continue;
      }
      // Read with the offset before the change, and with the one after: each reading is real
      // only on its own side of the change.
      const first = wall - before;
      const second = wall - after;
      const firstExists = first < changeAt;
      const secondExists = second >= changeAt;
      if (firstExists && secondExists) {
        // Repeated by a fall-back: the first occurrence, and the second too for interval schedules.
        out.push(first);
        if (c.interval) out.push(second);
      } else if (firstExists || secondExists) {
        out.push(firstExists ? first : second);
      } else {
        // Skipped by a spring-forward gap: read with the offset before the gap, i.e. shifted by it.
        out.push(first);
      }
    }
  }
}

/** The local calendar day (wall-clock midnight, ms) an instant falls on. */
function localDayOf(timezone: string, instantMs: number): number {
  const wall = instantMs + offsetMs(timezone, instantMs);
  return Math.floor(wall / DAY_MS) * DAY_MS;
}

function sortedUnique(values: number[]): number[] {
  values.sort((a, b) => a - b);
  return values.filter((v, i) => i === 0 || v !== values[i - 1]);
}

/** The latest cron occurrence at or before `t` (unbounded). */
function cronSlotAt(schedule: CronSchedule, t: number): number {
  const c = compiled(schedule.cron);
  const start = localDayOf(schedule.timezone, t) + MARGIN_DAYS * DAY_MS;
  let best = -Infinity;
  let foundOn: number | null = null;
  for (let i = 0; i <= MAX_SEARCH_DAYS; i++) {
    const day = start - i * DAY_MS;
    // Slots of neighbouring days can interleave around a DST change: look two days past the first find.
    if (foundOn !== null && foundOn - day > MARGIN_DAYS * DAY_MS) break;
    const slots: number[] = [];
    slotsOfDay(c, schedule.timezone, day, slots);
    for (const s of slots) {
      if (s <= t && s > best) {
        best = s;
        foundOn ??= day;
      }
    }
  }
  // Validation rejects an expression that never matches, so this is a bug, not an input.
  if (best === -Infinity) throw new Error(`"${schedule.cron}" has no occurrence in the ${MAX_SEARCH_DAYS} days before ${new Date(t).toISOString()}`);
  return best;
}

/** The first cron occurrence strictly after `t` (unbounded). */
function cronNextAfter(schedule: CronSchedule, t: number): number {
  const c = compiled(schedule.cron);
  const start = localDayOf(schedule.timezone, t) - MARGIN_DAYS * DAY_MS;
  let best = Infinity;
  let foundOn: number | null = null;
  for (let i = 0; i <= MAX_SEARCH_DAYS; i++) {
    const day = start + i * DAY_MS;
    if (foundOn !== null && day - foundOn > MARGIN_DAYS * DAY_MS) break;
    const slots: number[] = [];
    slotsOfDay(c, schedule.timezone, day, slots);
    for (const s of slots) {
      if (s > t && s < best) {
        best = s;
        foundOn ??= day;
      }
    }
  }
  if (best === Infinity) throw new Error(`"${schedule.cron}" has no occurrence in the ${MAX_SEARCH_DAYS} days after ${new Date(t).toISOString()}`);
  return best;
}

/** Cron occurrences in (lo, hi], oldest first, at most `limit` (unbounded). */
function cronOccurrences(schedule: CronSchedule, lo: number, hi: number, limit: number): number[] {
  const c = compiled(schedule.cron);
  const first = localDayOf(schedule.timezone, lo) - MARGIN_DAYS * DAY_MS;
  const last = localDayOf(schedule.timezone, hi) + MARGIN_DAYS * DAY_MS;
  const found: number[] = [];
  let fullOn: number | null = null;
  for (let day = first; day <= last; day += DAY_MS) {
    // Once `limit` slots are in hand, two more days settle which are the oldest.
    if (fullOn !== null && day - fullOn > MARGIN_DAYS * DAY_MS) break;
    const slots: number[] = [];
    slotsOfDay(c, schedule.timezone, day, slots);
    for (const s of slots) if (s > lo && s <= hi) found.push(s);
    if (fullOn === null && found.length >= limit) fullOn = day;
  }
  return sortedUnique(found).slice(0, limit);
}

const startMs = (s: Schedule) => s.startAt?.getTime() ?? -Infinity;
const endMs = (s: Schedule) => s.endAt?.getTime() ?? Infinity;

/**
 * The slot a scheduled trigger at `now` belongs to: the latest occurrence at or before `now`
 * (in the job's timezone for cron) within the bounds. A Hobby-plan call at 01:37 for
 * "0 1 * * *" is the 01:00 slot. Null when there is none: before a bounded job's first slot,
 * before a one-time job's slot. Past endAt it is the last slot (callers compare it with now).
 */
export function slotAt(schedule: Schedule, now: Date): Date | null {
  const t = Math.min(now.getTime(), endMs(schedule));
  if (!Number.isFinite(t)) return null;
  const slot = schedule.kind === "every" ? gridFloor(schedule, t) : schedule.kind === "once" ? (schedule.at.getTime() <= t ? schedule.at.getTime() : null) : cronSlotAt(schedule, t);
  return slot === null || slot < startMs(schedule) ? null : new Date(slot);
}

/**
 * The first occurrence strictly after `after` within the bounds; null when there is none (a
 * one-time job at or after its slot, a bounded job past its last slot): "no further runs".
 */
export function nextRunAfter(schedule: Schedule, after: Date): Date | null {
  // Before startAt, the first slot is the first at or after it.
  const t = Math.max(after.getTime(), startMs(schedule) - 1);
  if (!Number.isFinite(t)) return null;
  const next = schedule.kind === "every" ? gridFloor(schedule, t) + schedule.everyMs : schedule.kind === "once" ? (schedule.at.getTime() > t ? schedule.at.getTime() : null) : cronNextAfter(schedule, t);
  return next === null || next > endMs(schedule) ? null : new Date(next);
}

/** The next `count` slots after `after` (fewer when the schedule ends), oldest first. */
export function nextRuns(schedule: Schedule, after: Date, count: number): Date[] {
  const out: Date[] = [];
  for (let next = nextRunAfter(schedule, after); next && out.length < count; next = nextRunAfter(schedule, next)) out.push(next);
  return out;
}

/** Occurrences in (from, to] within the bounds, oldest first, at most `limit`. */
export function occurrencesBetween(schedule: Schedule, from: Date, to: Date, limit = 1000): Date[] {
  const lo = Math.max(from.getTime(), startMs(schedule) - 1);
  const hi = Math.min(to.getTime(), endMs(schedule));
  if (!(hi > lo) || limit <= 0) return [];
  let slots: number[];
  if (schedule.kind === "every") {
    slots = [];
    for (let s = gridFloor(schedule, lo) + schedule.everyMs; s <= hi && slots.length < limit; s += schedule.everyMs) slots.push(s);
  } else if (schedule.kind === "once") {
    const at = schedule.at.getTime();
    slots = at > lo && at <= hi ? [at] : [];
  } else {
    slots = cronOccurrences(schedule, lo, hi, limit);
  }
  return slots.map((ms) => new Date(ms));
}

/** True when `instant` is one of the schedule's slots within its bounds (what the execute route accepts as `?slot=`). */
export function isOccurrence(schedule: Schedule, instant: Date): boolean {
  const t = instant.getTime();
  if (!Number.isFinite(t)) return false;
  const [slot] = occurrencesBetween(schedule, new Date(t - 1), instant, 1);
  return slot?.getTime() === t;
}

/**
 * Shortest gap between two consecutive occurrences over the next `sample` runs, in ms:
 * Infinity when fewer than two slots are left (a one-time job, a bounded job near its end).
 */
export function minimumIntervalMs(schedule: Schedule, from: Date, sample = 48): number {
  if (schedule.kind === "every") return schedule.everyMs;
  let previous = nextRunAfter(schedule, from);
  let min = Infinity;
  for (let i = 0; i < sample && previous; i++) {
    const next = nextRunAfter(schedule, previous);
    if (!next) break;
    min = Math.min(min, next.getTime() - previous.getTime());
    previous = next;
  }
  return min;
}

/**
 * The same expression with numeric fields only, as strict cron dialects (Vercel's) want it:
 * names become numbers (`MON-FRI` -> `1-5`, `JAN` -> `1`), `7` for Sunday becomes `0`, and a
 * start with a step (`5/15`, read here as 5 through the end of the range) is written as the
 * range it means (`5-59/15`). Lists, ranges, steps and `*` are kept as written; whitespace is
 * normalised to single spaces. The result has the same slots as the input. Throws the
 * validation message for an invalid expression.
 */
export function numericCronFields(expression: string): string {
  const error = cronExpressionError(expression);
  if (error) throw new Error(error);
  const fields = expression.trim().split(/\s+/);
  return fields
    .map((field, i) => {
      const max = FIELD_RANGES[i][2];
      const parts = field.split(",").flatMap((part) => {
        const atom = ATOM_RE.exec(part)!;
        const step = atom[2];
        if (atom[1] === "*") return [part];
        const bounds = atom[1].split("-").map((raw) => fieldValue(raw, i));
        const from = bounds[0];
        const to = bounds.length === 2 ? bounds[1] : step === undefined ? bounds[0] : max;
        if (i === 4 && to === 7) {
          // Sunday as 7: the values it covers, with 7 as 0 (a range cannot wrap round to 0).
          const values: number[] = [];
          for (let v = from; v <= to; v += step === undefined ? 1 : Number(step)) values.push(v === 7 ? 0 : v);
          return values.map(String);
        }
        const range = from === to && step === undefined ? `${from}` : `${from}-${to}`;
        return [step === undefined ? range : `${range}/${step}`];
      });
      // Dedupe (a list with 0 and 7) and keep the written order otherwise.
      return parts.filter((p, k) => parts.indexOf(p) === k).join(",");
    })
    .join(" ");
}

/** Whole days, hours or minutes, compactly ("90m", "6h", "1d"): how an interval is written in a job definition. */
export function gridUnits(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}

/**
 * A schedule as one line of text, the API's and the CLI's `schedule` field: the cron expression
 * as written for cron (unchanged, so existing clients read it as before), "every 90m" or
 * "every 1d offset 6h" for an interval, "once 2026-12-24T09:00:00.000Z" for a one-time job.
 */
export function scheduleNotation(schedule: Schedule): string {
  if (schedule.kind === "every") return `every ${gridUnits(schedule.everyMs)}${schedule.offsetMs ? ` offset ${gridUnits(schedule.offsetMs)}` : ""}`;
  if (schedule.kind === "once") return `once ${schedule.at.toISOString()}`;
  return schedule.cron;
}
