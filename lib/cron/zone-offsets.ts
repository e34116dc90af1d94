/**
 * Timezone offsets for the schedule maths (lib/cron/schedule.ts): a zone's UTC offset at an
 * instant and the offsets around a local day's DST change, read from per-zone yearly tables
 * built from Intl once, because the searches ask for offsets thousands of times.
 */

const HOUR_MS = 3_600_000;

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

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The timezone's UTC offset at an instant from Intl, in ms (local wall clock minus UTC). */
function intlOffsetMs(timezone: string, instantMs: number): number {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: timezone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    formatters.set(timezone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(instantMs))) if (part.type !== "literal") p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(instantMs / 1000) * 1000;
}

/** A zone's offsets over one UTC year: segment starts (UTC ms, the first at the year's start) and offsets. */
interface OffsetYear {
  starts: number[];
  offsets: number[];
}

const offsetYears = new Map<string, OffsetYear>();
/** Zones change their offset at most a few times a year, never twice within this. */
const OFFSET_SAMPLE_MS = 6 * HOUR_MS;

/**
 * One Intl call costs tens of microseconds here, and a search asks for offsets thousands of
 * times: so each zone's year is sampled once (every 6 hours, each change then found to the
 * second) and offsets are read from that table.
 */
function offsetYear(timezone: string, year: number): OffsetYear {
  const key = `${timezone}|${year}`;
  const known = offsetYears.get(key);
  if (known) return known;
  const from = Date.UTC(year, 0, 1);
  const to = Date.UTC(year + 1, 0, 1);
  const table: OffsetYear = { starts: [from], offsets: [intlOffsetMs(timezone, from)] };
  let previous = table.offsets[0];
  for (let t = from; t < to; t += OFFSET_SAMPLE_MS) {
    const end = Math.min(t + OFFSET_SAMPLE_MS, to);
    const offset = intlOffsetMs(timezone, end);
    if (offset === previous) continue;
    let lo = t;
    let hi = end;
    while (hi - lo > 1000) {
      const mid = Math.floor((lo + hi) / 2000) * 1000;
      if (intlOffsetMs(timezone, mid) === previous) lo = mid;
      else hi = mid;
    }
    if (hi < to) {
      table.starts.push(hi);
      table.offsets.push(offset);
    }
    previous = offset;
  }
  if (offsetYears.size > 2_000) offsetYears.clear();
  offsetYears.set(key, table);
  return table;
}

/** The timezone's UTC offset at an instant, in ms (local wall clock minus UTC). */
export function offsetMs(timezone: string, instantMs: number): number {
  if (timezone === "UTC") return 0;
  const table = offsetYear(timezone, new Date(instantMs).getUTCFullYear());
  let i = table.starts.length - 1;
  while (i > 0 && table.starts[i] > instantMs) i--;
  return table.offsets[i];
}

/** The first offset change in (from, to], if any (UTC ms). */
function changeBetween(timezone: string, from: number, to: number): number | null {
  if (timezone === "UTC") return null;
  for (let year = new Date(from).getUTCFullYear(); year <= new Date(to).getUTCFullYear(); year++) {
    const table = offsetYear(timezone, year);
    for (let i = 0; i < table.starts.length; i++) {
      const start = table.starts[i];
      const changed = i > 0 ? table.offsets[i] !== table.offsets[i - 1] : table.offsets[0] !== offsetMs(timezone, start - 1000);
      if (changed && start > from && start <= to) return start;
    }
  }
  return null;
}

export interface DayOffsets {
  /** The offset in force before and after the day's DST change (equal when there is none). */
  before: number;
  after: number;
  /** The instant of the change (UTC ms); meaningless when before === after. */
  changeAt: number;
}

/**
 * The offsets around one local calendar day (its midnight as wall-clock ms): its local times
 * name instants within [midnight - 14 h, midnight + 36 h].
 */
export function dayOffsets(timezone: string, localDayMs: number): DayOffsets {
  const lo = localDayMs - 15 * HOUR_MS;
  const hi = localDayMs + 37 * HOUR_MS;
  const changeAt = changeBetween(timezone, lo, hi);
  if (changeAt === null) {
    const offset = offsetMs(timezone, lo);
    return { before: offset, after: offset, changeAt: hi };
  }
  return { before: offsetMs(timezone, changeAt - 1000), after: offsetMs(timezone, changeAt), changeAt };
}
