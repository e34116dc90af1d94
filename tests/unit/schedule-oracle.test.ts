import { Cron } from "croner";
import { describe, expect, it } from "vitest";
import { cronExpressionError, isOccurrence, nextRunAfter, occurrencesBetween, slotAt, type Schedule } from "@/lib/cron/schedule";

/**
 * A brute-force oracle of the DST rule in lib/cron/schedule.ts, written without its code:
 * enumerate the local wall-clock minutes an expression matches, map each to UTC by trying the
 * zone's offsets against Intl (a skipped minute: the last existing local minute before the gap
 * plus the minutes since; a repeated one: its first occurrence, both for interval schedules),
 * and compare every answer. The matcher is checked against croner's (UTC, no DST involved).
 */

const ZONES = ["Europe/Paris", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham"];
const MIN = 60_000;
const DAY = 86_400_000;
/** Instants are drawn from 2025-2027; slots a year either side of them are mapped too. */
const STUDY_FROM = Date.UTC(2023, 11, 1);
const STUDY_TO = Date.UTC(2029, 1, 1);

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the zone's offset timeline, from Intl -------------------------------------------------

interface Timeline {
  /** Segment starts (UTC ms) and the offset from each start on. */
  starts: number[];
  offsets: number[];
  transitions: number[];
}

function intlOffset(fmt: Intl.DateTimeFormat, ms: number): number {
  const parts = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second) - ms;
}

const timelines = new Map<string, Timeline>();
function timeline(zone: string): Timeline {
  const known = timelines.get(zone);
  if (known) return known;
  const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const t: Timeline = { starts: [STUDY_FROM - 30 * DAY], offsets: [intlOffset(fmt, STUDY_FROM - 30 * DAY)], transitions: [] };
  // Sampled every 6 hours (zones change at most a few times a year), then minute by minute.
  const SAMPLE = 6 * 3_600_000;
  for (let h = STUDY_FROM - 30 * DAY; h < STUDY_TO + 30 * DAY; h += SAMPLE) {
    const next = intlOffset(fmt, h + SAMPLE);
    if (next === t.offsets[t.offsets.length - 1]) continue;
    // Find the minute it changed at.
    let m = h;
    while (intlOffset(fmt, m) !== next) m += MIN;
    t.starts.push(m);
    t.offsets.push(next);
    t.transitions.push(m);
  }
  timelines.set(zone, t);
  return t;
}

function offsetAt(t: Timeline, ms: number): number {
  let lo = 0;
  let hi = t.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t.starts[mid] <= ms) lo = mid;
    else hi = mid - 1;
  }
  return t.offsets[lo];
}

/** The UTC instants a local wall-clock minute (as fake-UTC ms) names in the zone: 0, 1 or 2. */
function instantsNamed(t: Timeline, wall: number): number[] {
  const out: number[] = [];
  for (const o of distinctOffsets(t)) {
    const u = wall - o;
    if (offsetAt(t, u) === o && !out.includes(u)) out.push(u);
  }
  return out.sort((a, b) => a - b);
}

const distinct = new Map<Timeline, number[]>();
function distinctOffsets(t: Timeline): number[] {
  let d = distinct.get(t);
  if (!d) distinct.set(t, (d = [...new Set(t.offsets)]));
  return d;
}

// ---- an independent cron matcher -----------------------------------------------------------

interface Matcher {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  domStar: boolean;
  dowStar: boolean;
  interval: boolean;
}

function expand(field: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText ? parseInt(stepText, 10) : 1;
    let a: number;
    let b: number;
    if (range === "*") [a, b] = [min, max];
    else if (range.includes("-")) [a, b] = range.split("-").map((x) => parseInt(x, 10)) as [number, number];
    else [a, b] = [parseInt(range, 10), stepText ? max : parseInt(range, 10)];
    for (let v = a; v <= b; v += step) out.add(v);
  }
  return out;
}

function matcher(expr: string): Matcher {
  const [mi, h, dom, mon, dow] = expr.split(" ");
  const dows = expand(dow, 0, dow.startsWith("*") ? 6 : 7);
  if (dows.has(7)) dows.add(0);
  return {
    minute: expand(mi, 0, 59),
    hour: expand(h, 0, 23),
    dom: expand(dom, 1, 31),
    month: expand(mon, 1, 12),
    dow: dows,
    domStar: dom === "*",
    dowStar: dow === "*",
    interval: mi.includes("*") || mi.includes("/") || h.includes("*") || h.includes("/"),
  };
}

function dayOk(m: Matcher, wallDay: number): boolean {
  const d = new Date(wallDay);
  if (!m.month.has(d.getUTCMonth() + 1)) return false;
  const a = m.dom.has(d.getUTCDate());
  const b = m.dow.has(d.getUTCDay());
  return !m.domStar && !m.dowStar ? a || b : a && b;
}

// ---- the oracle -----------------------------------------------------------------------------

/** Every slot in [lo, hi], by enumerating each local minute of the days around it. */
function oracleSlots(expr: string, zone: string, lo: number, hi: number): number[] {
  const t = timeline(zone);
  const m = matcher(expr);
  // Local days whose minutes can name an instant in [lo, hi] (offsets and gaps move it by less than a day).
  const firstDay = Math.floor((lo + offsetAt(t, lo)) / DAY) * DAY - DAY;
  const lastDay = Math.floor((hi + offsetAt(t, hi)) / DAY) * DAY + DAY;
  const out = new Set<number>();
  for (let day = firstDay; day <= lastDay; day += DAY) {
    if (!dayOk(m, day)) continue;
    for (let hour = 0; hour < 24; hour++) {
      if (!m.hour.has(hour)) continue;
      for (let minute = 0; minute < 60; minute++) {
        if (!m.minute.has(minute)) continue;
        const wall = day + hour * 3_600_000 + minute * MIN;
        let named = instantsNamed(t, wall);
        if (named.length === 0) {
          // Skipped by a gap: as many minutes after the gap's start as the wall time is past
          // the last local minute that existed before it.
          let back = wall - MIN;
          while (instantsNamed(t, back).length === 0) back -= MIN;
          const before = instantsNamed(t, back);
          named = [before[before.length - 1] + (wall - back)];
        } else if (named.length > 1 && !m.interval) {
          named = [named[0]];
        }
        for (const u of named) if (u >= lo && u <= hi) out.add(u);
      }
    }
  }
  return [...out].sort((a, b) => a - b);
}

const WINDOWS = [DAY, 40 * DAY, 400 * DAY, 3000 * DAY];
function oracleSlotAt(expr: string, zone: string, now: number): number | null {
  for (const w of WINDOWS) {
    const s = oracleSlots(expr, zone, now - w, now);
    if (s.length) return s[s.length - 1];
  }
  return null;
}
function oracleNextAfter(expr: string, zone: string, after: number): number | null {
  for (const w of WINDOWS) {
    const s = oracleSlots(expr, zone, after + 1, after + w);
    if (s.length) return s[0];
  }
  return null;
}

// ---- random expressions ------------------------------------------------------------------

function randomField(r: () => number, min: number, max: number, kind: "minute" | "hour" | "day"): string {
  const pick = () => min + Math.floor(r() * (max - min + 1));
  const roll = r();
  if (roll < (kind === "day" ? 0.55 : 0.12)) return "*";
  if (roll < 0.3) return `*/${1 + Math.floor(r() * Math.min(30, max - min))}`;
  if (roll < 0.55) return String(pick());
  if (roll < 0.7) {
    const a = pick();
    const b = a + Math.floor(r() * (max - a + 1));
    return r() < 0.3 ? `${a}-${b}/${1 + Math.floor(r() * 5)}` : `${a}-${b}`;
  }
  if (roll < 0.8) return `${pick()}/${1 + Math.floor(r() * Math.min(20, max - min))}`;
  // Lists, overlapping values allowed ("0,7", "*/15,30").
  const n = 2 + Math.floor(r() * 3);
  const parts = Array.from({ length: n }, () => (r() < 0.15 ? `*/${2 + Math.floor(r() * Math.min(10, max - min - 1))}` : String(pick())));
  return parts.join(",");
}

function randomExpression(r: () => number): string {
  // Mostly minute-level and hour-level fields with daily-ish day fields, so the slots lie
  // around each DST change; a few monthly and yearly ones.
  const minute = randomField(r, 0, 59, "minute");
  const hour = r() < 0.35 ? "*" : randomField(r, 0, 23, "hour");
  const dom = r() < 0.8 ? "*" : randomField(r, 1, 28, "day");
  const month = r() < 0.85 ? "*" : randomField(r, 1, 12, "day");
  const dow = r() < 0.75 ? "*" : randomField(r, 0, 7, "day");
  return `${minute} ${hour} ${dom} ${month} ${dow}`;
}

describe("schedule maths against a brute-force oracle of the DST rule", () => {
  it("the matcher agrees with croner's on random expressions and UTC minutes", () => {
    const r = rng(7);
    let checks = 0;
    for (let i = 0; i < 400; i++) {
      const expr = randomExpression(r);
      // "1/2" in day of week: Crondeck (as cron-parser did) runs it to 7, Sunday; croner stops at 6.
      if (/(^|,)\d+\/\d+/.test(expr.split(" ")[4])) {
        i--;
        continue;
      }
      const cron = new Cron(expr, { timezone: "UTC", mode: "5-part", sloppyRanges: true });
      const m = matcher(expr);
      for (let j = 0; j < 50; j++) {
        const ms = STUDY_FROM + Math.floor((r() * (STUDY_TO - STUDY_FROM)) / MIN) * MIN;
        const d = new Date(ms);
        const mine = dayOk(m, Math.floor(ms / DAY) * DAY) && m.hour.has(d.getUTCHours()) && m.minute.has(d.getUTCMinutes());
        expect(mine, `${expr} at ${d.toISOString()}`).toBe(cron.match(d));
        checks++;
      }
    }
    expect(checks).toBe(20_000);
  });

  it("slotAt, nextRunAfter, occurrencesBetween and isOccurrence agree with the oracle near and away from DST changes", () => {
    const seed = Number(process.env.SCHEDULE_ORACLE_SEED ?? 20261025);
    const r = rng(seed);
    const EXPRESSIONS = Number(process.env.SCHEDULE_ORACLE_EXPRESSIONS ?? 2_000);
    let answers = 0;
    let near = 0;
    let slowest = 0;
    let spentMs = 0;
    // Each zone's offset table is built on its first use (tens of ms): build them before timing calls.
    for (const zone of ZONES) for (let year = 2023; year <= 2029; year++) slotAt({ cron: "0 0 * * *", timezone: zone }, new Date(Date.UTC(year, 6, 1)));
    const disagreements: string[] = [];
    const check = (what: string, got: unknown, want: unknown) => {
      answers++;
      if (JSON.stringify(got) !== JSON.stringify(want)) disagreements.push(`${what}: got ${JSON.stringify(got)}, oracle ${JSON.stringify(want)}`);
    };
    const timed = <T,>(f: () => T): T => {
      const t0 = performance.now();
      try {
        return f();
      } finally {
        const ms = performance.now() - t0;
        spentMs += ms;
        slowest = Math.max(slowest, ms);
      }
    };
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

    for (let i = 0; i < EXPRESSIONS; i++) {
      const expr = randomExpression(r);
      expect(cronExpressionError(expr), expr).toBeNull();
      const zone = ZONES[i % ZONES.length];
      const t = timeline(zone);
      let now: number;
      const changes = t.transitions.filter((c) => c >= Date.UTC(2025, 0, 1) && c < Date.UTC(2028, 0, 1));
      if (changes.length && r() < 0.7) {
        near++;
        const change = changes[Math.floor(r() * changes.length)];
        const spread = r() < 0.6 ? 4 * 3_600_000 : 3 * DAY;
        now = change + Math.floor((r() * 2 - 1) * spread);
      } else {
        now = Date.UTC(2025, 0, 1) + Math.floor(r() * 3 * 365 * DAY);
      }
      if (r() < 0.5) now = Math.floor(now / MIN) * MIN; // on a minute, where slots are
      const schedule: Schedule = { cron: expr, timezone: zone };
      const label = `${expr} (${zone}) at ${iso(now)} [seed ${seed}]`;

      const slot = timed(() => slotAt(schedule, new Date(now))!.getTime());
      check(`slotAt ${label}`, iso(slot), iso(oracleSlotAt(expr, zone, now)));
      const next = timed(() => nextRunAfter(schedule, new Date(now))!.getTime());
      check(`nextRunAfter ${label}`, iso(next), iso(oracleNextAfter(expr, zone, now)));
      if (i % 3 === 0) {
        const lo = now - DAY / 2;
        const hi = now + DAY / 2;
        const got = timed(() => occurrencesBetween(schedule, new Date(lo), new Date(hi), 5_000).map((d) => d.getTime()));
        const want = oracleSlots(expr, zone, lo + 1, hi);
        check(`occurrencesBetween ${label}`, got.map(iso), want.map(iso));
        // isOccurrence: yes for each slot, no for the other minutes around now.
        const slots = new Set(want);
        for (let k = -90; k <= 90; k += 11) {
          const candidate = Math.floor(now / MIN) * MIN + k * MIN;
          if (candidate <= lo || candidate > hi) continue;
          check(`isOccurrence ${iso(candidate)} ${label}`, timed(() => isOccurrence(schedule, new Date(candidate))), slots.has(candidate));
        }
      }
    }
    console.log(
      `schedule oracle: seed ${seed}, ${EXPRESSIONS} expressions in ${ZONES.length} zones (${near} near a DST change), ${answers} answers, ` +
        `${disagreements.length} disagreements; schedule calls ${spentMs.toFixed(0)} ms in all, the slowest ${slowest.toFixed(1)} ms`,
    );
    expect(disagreements.slice(0, 10)).toEqual([]);
    // Bounded: no call loops or searches for seconds (a loaded 2-core machine stretches this).
    expect(slowest).toBeLessThan(500);
  }, 120_000);
});
