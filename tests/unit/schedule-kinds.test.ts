import { describe, expect, it } from "vitest";
import { defineJob } from "@/lib/cron/define-job";
import { inBounds, isIntervalSchedule, isOccurrence, minimumIntervalMs, nextRunAfter, nextRuns, occurrencesBetween, slotAt, withoutBounds, type Schedule } from "@/lib/cron/schedule";
import { scheduleInWords, scheduleNotation } from "@/lib/dashboard/format";

/**
 * Intervals (the grid epoch + offset + k * every, in real time), one-time jobs and startAt/endAt
 * bounds, checked against a brute force over every minute: the schedule functions must agree
 * with "is this minute a slot" for all kinds, at the exact edges of the bounds, and across DST.
 */

const MIN = 60_000;
const at = (s: string) => new Date(s);
const iso = (d: Date | null) => d?.toISOString() ?? null;
const handler = () => {};

const every = (everyMs: number, offsetMs = 0, bounds: Partial<Pick<Schedule, "startAt" | "endAt">> = {}): Schedule => ({ kind: "every", everyMs, offsetMs, startAt: null, endAt: null, ...bounds });

/** The oracle: a minute is a slot of an interval when it is on the grid and within the bounds. */
const isSlotBrute = (s: Schedule, t: number): boolean => {
  if (!inBounds(s, new Date(t))) return false;
  if (s.kind === "every") return (((t - s.offsetMs) % s.everyMs) + s.everyMs) % s.everyMs === 0;
  if (s.kind === "once") return t === s.at.getTime();
  throw new Error("cron is the oracle test's (schedule-oracle.test.ts)");
};
const bruteBetween = (s: Schedule, lo: number, hi: number) => {
  const out: number[] = [];
  for (let t = Math.floor(lo / MIN) * MIN + MIN; t <= hi; t += MIN) if (t > lo && isSlotBrute(s, t)) out.push(t);
  return out;
};

describe("interval schedules", () => {
  it("defineJob's { every: \"90m\" } fires on the grid from the epoch: 00:00, 01:30, 03:00 UTC...", () => {
    const job = defineJob({ name: "kinds-every-90m", schedule: { every: "90m" }, handler });
    expect(job.schedule).toMatchObject({ kind: "every", everyMs: 90 * MIN, offsetMs: 0 });
    expect(job.dispatch).toBe("tick");
    expect(occurrencesBetween(job.schedule, at("2026-11-24T00:00:00Z"), at("2026-11-24T06:00:00Z")).map(iso)).toEqual([
      "2026-11-24T01:30:00.000Z",
      "2026-11-24T03:00:00.000Z",
      "2026-11-24T04:30:00.000Z",
      "2026-11-24T06:00:00.000Z",
    ]);
    expect(iso(slotAt(job.schedule, at("2026-11-24T01:29:59Z")))).toBe("2026-11-24T00:00:00.000Z");
    expect(iso(slotAt(job.schedule, at("2026-11-24T01:30:00Z")))).toBe("2026-11-24T01:30:00.000Z");
    expect(iso(nextRunAfter(job.schedule, at("2026-11-24T01:30:00Z")))).toBe("2026-11-24T03:00:00.000Z");
    expect(isOccurrence(job.schedule, at("2026-11-24T03:00:00Z"))).toBe(true);
    expect(isOccurrence(job.schedule, at("2026-11-24T02:00:00Z"))).toBe(false);
    expect(isOccurrence(job.schedule, at("2026-11-24T03:00:00.001Z"))).toBe(false);
    expect(minimumIntervalMs(job.schedule, at("2026-11-24T00:00:00Z"))).toBe(90 * MIN);
    expect(isIntervalSchedule(job.schedule)).toBe(true);
  });

  it("an offset moves the grid: { every: \"1d\", offset: \"6h\" } is 06:00 UTC daily, { every: \"15m\", offset: \"5m\" } :05, :20...", () => {
    const daily = defineJob({ name: "kinds-daily-6", schedule: { every: "1d", offset: "6h" }, handler }).schedule;
    expect(nextRuns(daily, at("2026-11-24T06:00:00Z"), 2).map(iso)).toEqual(["2026-11-25T06:00:00.000Z", "2026-11-26T06:00:00.000Z"]);
    expect(iso(slotAt(daily, at("2026-11-24T05:59:00Z")))).toBe("2026-11-23T06:00:00.000Z");
    const quarter = defineJob({ name: "kinds-quarter", schedule: { every: "15m", offset: "5m" }, handler }).schedule;
    expect(nextRuns(quarter, at("2026-11-24T10:00:00Z"), 4).map(iso)).toEqual([
      "2026-11-24T10:05:00.000Z",
      "2026-11-24T10:20:00.000Z",
      "2026-11-24T10:35:00.000Z",
      "2026-11-24T10:50:00.000Z",
    ]);
    expect(scheduleNotation(daily)).toBe("every 1d offset 6h");
    expect(scheduleInWords(scheduleNotation(daily))).toBe("Every day, offset 6 hours from the UTC grid");
    expect(scheduleInWords(scheduleNotation(every(90 * MIN)))).toBe("Every 90 minutes");
  });

  it("keeps real time across DST changes: 90 minutes apart through Paris's spring-forward and fall-back (no DST rule applies)", () => {
    const s = every(90 * MIN);
    for (const [from, to] of [["2026-03-28T18:00:00Z", "2026-03-29T12:00:00Z"], ["2026-10-24T18:00:00Z", "2026-10-25T12:00:00Z"]]) {
      const slots = occurrencesBetween(s, at(from), at(to)).map((d) => d.getTime());
      expect(slots.length).toBe(12);
      for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBe(90 * MIN);
      expect(slots).toEqual(bruteBetween(s, at(from).getTime(), at(to).getTime()));
    }
  });

  it("agrees with the brute force for random intervals, offsets and bounds (slotAt, nextRunAfter, occurrencesBetween, isOccurrence)", () => {
    let seed = 20261124;
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const base = Date.UTC(2026, 9, 24);
    for (let i = 0; i < 300; i++) {
      const everyMs = (1 + Math.floor(r() * 600)) * MIN;
      const offsetMs = Math.floor(r() * (everyMs / MIN)) * MIN;
      const startAt = r() < 0.5 ? new Date(base + Math.floor(r() * 3 * 86_400) * 1000) : null;
      const endAt = r() < 0.5 ? new Date((startAt?.getTime() ?? base) + Math.floor(r() * 3 * 86_400) * 1000 + 1000) : null;
      const s = every(everyMs, offsetMs, { startAt, endAt });
      const lo = base - 86_400_000 + Math.floor(r() * 5 * 86_400) * 1000;
      const hi = lo + Math.floor(r() * 2 * 86_400_000);
      const label = `every ${everyMs / MIN}m +${offsetMs / MIN}m [${iso(startAt)}, ${iso(endAt)}] (${new Date(lo).toISOString()}, ${new Date(hi).toISOString()}]`;
      const want = bruteBetween(s, lo, hi);
      expect(occurrencesBetween(s, new Date(lo), new Date(hi), 10_000).map((d) => d.getTime()), label).toEqual(want);
      const before = bruteBetween(s, lo - 30 * 86_400_000, hi);
      expect(slotAt(s, new Date(hi))?.getTime() ?? null, `slotAt ${label}`).toBe(before.length ? before[before.length - 1] : null);
      const after = bruteBetween(s, lo, lo + 30 * 86_400_000);
      expect(nextRunAfter(s, new Date(lo))?.getTime() ?? null, `nextRunAfter ${label}`).toBe(after[0] ?? null);
      for (const t of want.slice(0, 3)) expect(isOccurrence(s, new Date(t)), label).toBe(true);
      if (want.length) expect(isOccurrence(s, new Date(want[0] + MIN)), label).toBe(isSlotBrute(s, want[0] + MIN));
    }
  });
});

describe("startAt and endAt", () => {
  it("are inclusive at the exact edges: a slot at startAt runs, one a millisecond before does not; the same at endAt", () => {
    const s = every(60 * MIN, 0, { startAt: at("2026-11-24T10:00:00Z"), endAt: at("2026-11-24T13:00:00Z") });
    expect(occurrencesBetween(s, at("2026-11-24T00:00:00Z"), at("2026-11-25T00:00:00Z")).map(iso)).toEqual([
      "2026-11-24T10:00:00.000Z",
      "2026-11-24T11:00:00.000Z",
      "2026-11-24T12:00:00.000Z",
      "2026-11-24T13:00:00.000Z",
    ]);
    const shifted = { ...s, startAt: at("2026-11-24T10:00:00.001Z"), endAt: at("2026-11-24T12:59:59.999Z") };
    expect(occurrencesBetween(shifted, at("2026-11-24T00:00:00Z"), at("2026-11-25T00:00:00Z")).map(iso)).toEqual(["2026-11-24T11:00:00.000Z", "2026-11-24T12:00:00.000Z"]);
    expect(isOccurrence(s, at("2026-11-24T09:00:00Z"))).toBe(false);
    expect(isOccurrence(withoutBounds(s), at("2026-11-24T09:00:00Z"))).toBe(true);
  });

  it("before startAt there is no slot (null, not a throw) and the next run is the first; past endAt the last slot stays and there is no next run", () => {
    const cron = defineJob({ name: "kinds-bounded-cron", schedule: { cron: "0 9 * * *", timezone: "Europe/Paris" }, startAt: "2026-12-01T00:00:00Z", endAt: "2026-12-03T23:00:00Z", handler }).schedule;
    expect(slotAt(cron, at("2026-11-30T12:00:00Z"))).toBeNull();
    expect(iso(nextRunAfter(cron, at("2026-11-01T00:00:00Z")))).toBe("2026-12-01T08:00:00.000Z");
    expect(iso(slotAt(cron, at("2027-06-01T00:00:00Z")))).toBe("2026-12-03T08:00:00.000Z");
    expect(nextRunAfter(cron, at("2026-12-03T08:00:00Z"))).toBeNull();
    expect(nextRuns(cron, at("2026-11-01T00:00:00Z"), 10).map(iso)).toEqual(["2026-12-01T08:00:00.000Z", "2026-12-02T08:00:00.000Z", "2026-12-03T08:00:00.000Z"]);
    expect(minimumIntervalMs(cron, at("2026-12-02T12:00:00Z"))).toBe(Infinity);
    expect(occurrencesBetween(cron, at("2026-12-04T00:00:00Z"), at("2027-12-04T00:00:00Z"))).toEqual([]);
  });
});

describe("one-time schedules (runAt)", () => {
  const job = defineJob({ name: "kinds-once", runAt: "2026-12-24T09:00:30+01:00", handler });

  it("have one slot, runAt to the minute, dispatched by the tick", () => {
    expect(job.schedule).toEqual({ kind: "once", at: at("2026-12-24T08:00:00Z"), startAt: null, endAt: null });
    expect(job.dispatch).toBe("tick");
    expect(isIntervalSchedule(job.schedule)).toBe(false);
    expect(scheduleInWords(scheduleNotation(job.schedule))).toBe("Once at 2026-12-24 08:00 UTC");
  });

  it("before, at and after the slot", () => {
    const slot = "2026-12-24T08:00:00.000Z";
    // Before: no slot yet, the next run is the slot.
    expect(slotAt(job.schedule, at("2026-12-24T07:59:59.999Z"))).toBeNull();
    expect(iso(nextRunAfter(job.schedule, at("2026-12-24T07:59:59.999Z")))).toBe(slot);
    // At: the slot is now's, and there is no next run.
    expect(iso(slotAt(job.schedule, at(slot)))).toBe(slot);
    expect(nextRunAfter(job.schedule, at(slot))).toBeNull();
    // After: the slot stays the last one, no further runs.
    expect(iso(slotAt(job.schedule, at("2030-01-01T00:00:00Z")))).toBe(slot);
    expect(nextRuns(job.schedule, at("2026-12-25T00:00:00Z"), 5)).toEqual([]);
    expect(occurrencesBetween(job.schedule, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z")).map(iso)).toEqual([slot]);
    expect(occurrencesBetween(job.schedule, at(slot), at("2027-01-01T00:00:00Z"))).toEqual([]);
    expect(isOccurrence(job.schedule, at(slot))).toBe(true);
    expect(isOccurrence(job.schedule, at("2026-12-24T08:01:00Z"))).toBe(false);
    expect(minimumIntervalMs(job.schedule, at("2026-01-01T00:00:00Z"))).toBe(Infinity);
  });
});
