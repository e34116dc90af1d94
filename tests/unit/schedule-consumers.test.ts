import { describe, expect, it } from "vitest";
import { monitorConfigFor } from "@/lib/alerts/sentry";
import { describeJob } from "@/lib/app/jobs";
import { defineJob } from "@/lib/cron/define-job";
import { checkVercelConfig } from "@/lib/vercel/check";
import { routeNotes, routeOnPlan, runsWithDailyTick, vercelCronsFor } from "@/lib/vercel/crons";

/**
 * Who reads a schedule, for every kind: Vercel routing (intervals and one-time jobs never get a
 * vercel.json entry, and `vercel check` says why an extra one is wrong), Sentry's monitor config
 * (an interval monitor, none for a one-time job), and the API's description (cron fields as
 * before, the interval's fields added, no next run once a schedule has ended).
 */

const handler = () => {};
const interval = defineJob({ name: "cons-every", schedule: { every: "90m" }, handler });
const daily = defineJob({ name: "cons-daily-grid", schedule: { every: "1d" }, handler });
/** 00:30 UTC daily: the Hobby tick's calls (00:00-00:59) can come before it. */
const halfPast = defineJob({ name: "cons-daily-half", schedule: { every: "1d", offset: "30m" }, handler });
const once = defineJob({ name: "cons-once", runAt: "2026-12-24T09:00:00Z", handler });
const cron = defineJob({ name: "cons-cron", schedule: "0 1 * * *", startAt: "2026-01-01T00:00:00Z", endAt: "2026-02-01T00:00:00Z", handler });
const now = new Date("2026-11-24T12:00:00Z");

describe("Vercel routing", () => {
  it("gives intervals and one-time jobs to the tick, never a vercel.json entry, on either plan", () => {
    for (const plan of ["pro", "hobby"] as const) {
      expect(routeOnPlan(interval, plan)).toEqual({ job: interval.name, via: "tick", reason: "interval" });
      expect(routeOnPlan(once, plan)).toEqual({ job: once.name, via: "tick", reason: "once" });
      expect(vercelCronsFor([interval, once], plan).map((c) => c.path)).toEqual(["/api/cron/tick"]);
    }
    // A bounded UTC cron stays Vercel's: its calls outside the window are skipped (outside_window).
    expect(routeOnPlan(cron, "pro")).toMatchObject({ via: "vercel", schedule: "0 1 * * *" });
  });

  it("explains in cron:sync's notes and in vercel check why an interval has no cron entry, and refuses an extra one", () => {
    const notes = routeNotes([interval, once], "pro", now);
    expect(notes.map((n) => n.code)).toEqual(["interval", "once"]);
    expect(notes[0].message).toContain('"every 90m" is an interval in real time, which no cron expression can say');
    expect(notes[1].message).toContain("one-time job");
    const report = checkVercelConfig({ vercelJson: { crons: [...vercelCronsFor([interval]), { path: `/api/cron/execute/${interval.name}`, schedule: "0 * * * *" }] }, jobs: [interval], plan: "pro", now });
    expect(report.errors.map((e) => e.code)).toEqual(["extra_cron"]);
    expect(report.errors[0].message).toContain('an interval ("every 90m"), which no cron can say');
  });

  it("on Hobby: a daily interval at 00:00 is found by the daily tick; at 00:30 or every 90 minutes it is degraded and says so", () => {
    expect(runsWithDailyTick(daily, now)).toBe(true);
    expect(runsWithDailyTick(halfPast, now)).toBe(false);
    const [dailyNote, intervalNote] = routeNotes([daily, interval], "hobby", now);
    expect(dailyNote.level).toBe("info");
    expect(intervalNote.level).toBe("warning");
    expect(routeNotes([halfPast], "hobby", now)[0]).toMatchObject({ level: "warning" });
  });
});

describe("Sentry monitor config", () => {
  it("is an interval monitor for an interval, a crontab for cron, none for a one-time job", () => {
    expect(monitorConfigFor(interval, "pro")?.schedule).toEqual({ type: "interval", value: 90, unit: "minute" });
    expect(monitorConfigFor(daily, "pro")?.schedule).toEqual({ type: "interval", value: 1, unit: "day" });
    expect(monitorConfigFor(defineJob({ name: "cons-6h", schedule: { every: "6h" }, handler }), "pro")?.schedule).toEqual({ type: "interval", value: 6, unit: "hour" });
    expect(monitorConfigFor(cron, "pro")).toMatchObject({ schedule: { type: "crontab", value: "0 1 * * *" }, timezone: "UTC" });
    expect(monitorConfigFor(once, "pro")).toBeNull();
  });
});

describe("describeJob", () => {
  it("keeps cron jobs' schedule and timezone, adds each kind's fields, and has no next run once a schedule has ended", () => {
    expect(describeJob(cron, now)).toMatchObject({ schedule: "0 1 * * *", timezone: "UTC", scheduleKind: "cron", every: null, startAt: "2026-01-01T00:00:00.000Z", endAt: "2026-02-01T00:00:00.000Z", nextRunAt: null });
    expect(describeJob(interval, now)).toMatchObject({ schedule: "every 90m", timezone: "UTC", scheduleKind: "every", every: "90m", everyMs: 5_400_000, offsetMs: 0, scheduleInWords: "Every 90 minutes", nextRunAt: "2026-11-24T13:30:00.000Z" });
    expect(describeJob(once, now)).toMatchObject({ schedule: "once 2026-12-24T09:00:00.000Z", scheduleKind: "once", runAt: "2026-12-24T09:00:00.000Z", nextRunAt: "2026-12-24T09:00:00.000Z" });
    expect(describeJob(once, new Date("2026-12-24T09:00:00Z")).nextRunAt).toBeNull();
  });
});
