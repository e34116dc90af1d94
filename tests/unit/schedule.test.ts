import { describe, expect, it } from "vitest";
import { cronExpressionError, isIntervalSchedule, isOccurrence, isValidTimezone, minimumIntervalMs, nextRunAfter, occurrencesBetween, slotAt } from "@/lib/cron/schedule";

const utc = (cron: string) => ({ cron, timezone: "UTC" });
// slotAt and nextRunAfter answer null for no slot (bounded and one-time schedules): never for these crons.
const iso = (d: Date | null) => d!.toISOString();

describe("slotAt", () => {
  it("is the latest occurrence at or before now (a Hobby-plan call at 01:37 is the 01:00 slot)", () => {
    expect(iso(slotAt(utc("0 1 * * *"), new Date("2026-11-24T01:37:12Z")))).toBe("2026-11-24T01:00:00.000Z");
    expect(iso(slotAt(utc("0 1 * * *"), new Date("2026-11-24T00:59:59Z")))).toBe("2026-11-23T01:00:00.000Z");
  });

  it("counts an occurrence at exactly now (and within its first second) as now's slot", () => {
    expect(iso(slotAt(utc("*/5 * * * *"), new Date("2026-11-24T10:05:00.000Z")))).toBe("2026-11-24T10:05:00.000Z");
    expect(iso(slotAt(utc("*/5 * * * *"), new Date("2026-11-24T10:05:00.999Z")))).toBe("2026-11-24T10:05:00.000Z");
    expect(iso(slotAt(utc("*/5 * * * *"), new Date("2026-11-24T10:04:59.999Z")))).toBe("2026-11-24T10:00:00.000Z");
  });

  it("works in the job's timezone", () => {
    // 09:00 in Paris (UTC+1 in November) is 08:00 UTC.
    const paris = { cron: "0 9 * * *", timezone: "Europe/Paris" };
    expect(iso(slotAt(paris, new Date("2026-11-24T08:30:00Z")))).toBe("2026-11-24T08:00:00.000Z");
    expect(iso(slotAt(paris, new Date("2026-11-24T07:59:00Z")))).toBe("2026-11-23T08:00:00.000Z");
    const tokyo = { cron: "0 0 * * *", timezone: "Asia/Tokyo" };
    expect(iso(slotAt(tokyo, new Date("2026-11-24T16:00:00Z")))).toBe("2026-11-24T15:00:00.000Z");
  });

  it("fires a local time skipped by a spring-forward gap once, shifted by the gap", () => {
    // 2026-03-29: Paris jumps from 02:00 to 03:00; 02:30 does not exist that day.
    const job = { cron: "30 2 * * *", timezone: "Europe/Paris" };
    expect(iso(nextRunAfter(job, new Date("2026-03-28T12:00:00Z")))).toBe("2026-03-29T01:30:00.000Z"); // 03:30 CEST
    expect(iso(slotAt(job, new Date("2026-03-29T05:00:00Z")))).toBe("2026-03-29T01:30:00.000Z");
    expect(occurrencesBetween(job, new Date("2026-03-28T12:00:00Z"), new Date("2026-03-30T12:00:00Z")).map(iso)).toEqual([
      "2026-03-29T01:30:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
  });

  it("fires a local time repeated by a fall-back overlap once, at its first occurrence", () => {
    // 2026-10-25: Paris goes from 03:00 CEST back to 02:00 CET; 02:30 happens twice.
    const job = { cron: "30 2 * * *", timezone: "Europe/Paris" };
    const runs = occurrencesBetween(job, new Date("2026-10-24T12:00:00Z"), new Date("2026-10-26T12:00:00Z")).map(iso);
    expect(runs).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
    // A call during the second 02:30 belongs to the first one's slot: a duplicate, not a second run.
    expect(iso(slotAt(job, new Date("2026-10-25T01:35:00Z")))).toBe("2026-10-25T00:30:00.000Z");
  });

  it("keeps interval schedules on real time across a fall-back", () => {
    const job = { cron: "*/30 * * * *", timezone: "Europe/Paris" };
    const runs = occurrencesBetween(job, new Date("2026-10-25T00:10:00Z"), new Date("2026-10-25T02:00:00Z")).map(iso);
    expect(runs).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-25T01:00:00.000Z", "2026-10-25T01:30:00.000Z", "2026-10-25T02:00:00.000Z"]);
  });
});

describe("one DST rule at the edges cron-parser got wrong", () => {
  const at = (s: string) => new Date(s);
  const timed = <T,>(f: () => T): T => {
    const t0 = performance.now();
    const value = f();
    expect(performance.now() - t0).toBeLessThan(500);
    return value;
  };

  it("a fixed-time job fires once in a fall-back, whether the minute is 00 or 30, and refuses the second occurrence as a slot", () => {
    for (const cron of ["0 2 * * *", "30 2 * * *"]) {
      const job = { cron, timezone: "Europe/Paris" };
      const runs = occurrencesBetween(job, at("2026-10-24T20:00:00Z"), at("2026-10-25T04:00:00Z")).map(iso);
      expect(runs).toEqual([cron.startsWith("0 ") ? "2026-10-25T00:00:00.000Z" : "2026-10-25T00:30:00.000Z"]);
      expect(isOccurrence(job, at(runs[0]))).toBe(true);
      expect(isOccurrence(job, new Date(at(runs[0]).getTime() + 3_600_000))).toBe(false);
      // Looking from just after the first occurrence (as the tick's missed-slot check does).
      for (const minutes of [1, 29, 31, 61, 65]) {
        const after = new Date(at(runs[0]).getTime() + minutes * 60_000);
        expect(occurrencesBetween(job, after, at("2026-10-25T06:00:00Z")), `${cron} after ${iso(after)}`).toEqual([]);
        expect(nextRunAfter(job, after)!.getTime() - at(runs[0]).getTime()).toBe(25 * 3_600_000);
      }
    }
    const ny = { cron: "30 1 * * *", timezone: "America/New_York" };
    expect(occurrencesBetween(ny, at("2026-11-01T00:00:00Z"), at("2026-11-01T12:00:00Z")).map(iso)).toEqual(["2026-11-01T05:30:00.000Z"]);
    expect(iso(slotAt(ny, at("2026-11-01T06:45:00Z")))).toBe("2026-11-01T05:30:00.000Z");
  });

  it("a list of minutes in a repeated hour is a fixed-time job: 01:59 New York runs once", () => {
    const job = { cron: "15,29,59 1 * * *", timezone: "America/New_York" };
    expect(isIntervalSchedule(job)).toBe(false);
    expect(occurrencesBetween(job, at("2026-11-01T04:00:00Z"), at("2026-11-01T08:00:00Z")).map(iso)).toEqual([
      "2026-11-01T05:15:00.000Z",
      "2026-11-01T05:29:00.000Z",
      "2026-11-01T05:59:00.000Z",
    ]);
    for (const from of ["2026-11-01T05:16:00Z", "2026-11-01T05:30:00Z", "2026-11-01T05:59:30Z", "2026-11-01T06:10:00Z"]) {
      const later = occurrencesBetween(job, at(from), at("2026-11-01T08:00:00Z")).map(iso);
      expect(later.every((s) => s < "2026-11-01T06:00:00.000Z"), `${from}: ${later}`).toBe(true);
    }
  });

  it("an interval job fires at both occurrences of a repeated local time, and both are slots", () => {
    const job = { cron: "*/15 * * * *", timezone: "Europe/Paris" };
    expect(isIntervalSchedule(job)).toBe(true);
    expect(isOccurrence(job, at("2026-10-25T00:15:00Z"))).toBe(true); // 02:15 CEST
    expect(isOccurrence(job, at("2026-10-25T01:15:00Z"))).toBe(true); // 02:15 CET
    expect(occurrencesBetween(job, at("2026-10-24T23:50:00Z"), at("2026-10-25T02:00:00Z"))).toHaveLength(9);
  });

  it("Pacific/Chatham (45-minute offset): 03:00 in the 02:45 -> 03:45 gap runs at 04:00, never after now, in bounded time", () => {
    const job = { cron: "0 3 * * *", timezone: "Pacific/Chatham" };
    expect(iso(timed(() => nextRunAfter(job, at("2026-09-25T20:00:00Z"))))).toBe("2026-09-26T14:15:00.000Z");
    expect(iso(timed(() => slotAt(job, at("2026-09-26T14:10:00Z"))))).toBe("2026-09-25T14:15:00.000Z");
    expect(iso(timed(() => slotAt(job, at("2026-09-26T14:20:00Z"))))).toBe("2026-09-26T14:15:00.000Z");
    for (let t = at("2026-09-24T00:00:00Z").getTime(); t < at("2026-09-29T00:00:00Z").getTime(); t += 7 * 60_000) {
      expect(slotAt(job, new Date(t))!.getTime()).toBeLessThanOrEqual(t);
    }
  });

  it("Australia/Lord_Howe (30-minute shift): a skipped time is shifted by 30 minutes, and the repeated half hour returns", () => {
    // 2026-10-04 02:00 LHST -> 02:30 LHDT: a monthly job at 02:15 on the 4th runs at 02:45.
    const monthly = { cron: "15 2 4 * *", timezone: "Australia/Lord_Howe" };
    expect(occurrencesBetween(monthly, at("2026-09-01T00:00:00Z"), at("2026-11-30T00:00:00Z")).map(iso)).toEqual([
      "2026-09-03T15:45:00.000Z",
      "2026-10-03T15:45:00.000Z",
      "2026-11-03T15:15:00.000Z",
    ]);
    // 2027-04-04 02:00 LHDT -> 01:30 LHST. This call never returned with cron-parser.
    const job = { cron: "8-15 * * * *", timezone: "Australia/Lord_Howe" };
    expect(iso(timed(() => slotAt(job, at("2027-04-03T14:19:54Z"))))).toBe("2027-04-03T14:15:00.000Z");
    expect(iso(timed(() => nextRunAfter(job, at("2027-04-03T14:19:54Z"))))).toBe("2027-04-03T15:38:00.000Z");
  });

  it("America/Santiago changes at midnight: Saturday 23:30 repeats, Sunday 00:30 is skipped", () => {
    const late = { cron: "30 23 * * *", timezone: "America/Santiago" };
    expect(occurrencesBetween(late, at("2026-04-04T12:00:00Z"), at("2026-04-05T12:00:00Z")).map(iso)).toEqual(["2026-04-05T02:30:00.000Z"]);
    const early = { cron: "30 0 * * *", timezone: "America/Santiago" };
    expect(occurrencesBetween(early, at("2026-09-05T12:00:00Z"), at("2026-09-06T12:00:00Z")).map(iso)).toEqual(["2026-09-06T04:30:00.000Z"]);
  });

  it("measures the shortest interval with the same rule", () => {
    expect(minimumIntervalMs(utc("*/15,30 * * * *"), at("2026-01-01T00:00:00Z"))).toBe(900_000);
    expect(minimumIntervalMs({ cron: "0 * * * *", timezone: "Australia/Lord_Howe" }, at("2026-10-03T12:00:00Z"))).toBe(1_800_000);
  });
});

describe("cronExpressionError", () => {
  it.each(["0 0 * * 0,7", "*/15,30 * * * *", "0 0 1,1 * *", "5/10 * * * *", "0 0 29 2 *"])("accepts overlapping values and rare dates: %s", (expr) => {
    expect(cronExpressionError(expr)).toBeNull();
  });

  it.each([
    ["0 0 30 2 *", /never runs/],
    ["0 0 31 4,6 *", /never runs/],
    ["0 0 * * 7-1", /low to high/],
  ])("rejects %j", (expr, message) => {
    expect(cronExpressionError(expr)).toMatch(message);
  });

  it.each(["0 1 * * *", "*/5 * * * *", "0 9 * * MON-FRI", "0 0 1,15 * *", "15 14 1 * *", "0 0 * * 7", "0 22 * * 1-5", "5 4 * JAN sun"])("accepts %s", (expr) => {
    expect(cronExpressionError(expr)).toBeNull();
  });

  it.each([
    ["", /empty/],
    ["   ", /empty/],
    ["* * * *", /4 fields/],
    ["* * * * * *", /6 fields/],
    ["60 * * * *", /minute.*outside 0-59/],
    ["* 24 * * *", /hour.*outside 0-23/],
    ["* * 0 * *", /day of month.*outside 1-31/],
    ["* * 32 * *", /day of month/],
    ["* * * 13 *", /month.*outside 1-12/],
    ["* * * * 8", /day of week.*outside 0-7/],
    ["*/0 * * * *", /steps by 0/],
    ["a b c d e", /not a number|not valid/],
    ["@daily", /1 field/],
  ])("rejects %j", (expr, message) => {
    expect(cronExpressionError(expr)).toMatch(message);
  });
});

it("knows IANA timezones", () => {
  expect(isValidTimezone("Europe/Paris")).toBe(true);
  expect(isValidTimezone("UTC")).toBe(true);
  expect(isValidTimezone("Mars/Olympus_Mons")).toBe(false);
  expect(isValidTimezone("")).toBe(false);
});
