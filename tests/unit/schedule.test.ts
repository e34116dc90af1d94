import { describe, expect, it } from "vitest";
import { cronExpressionError, isValidTimezone, nextRunAfter, occurrencesBetween, slotAt } from "@/lib/cron/schedule";

const utc = (cron: string) => ({ cron, timezone: "UTC" });
const iso = (d: Date) => d.toISOString();

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

describe("cronExpressionError", () => {
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
