import { describe, expect, it } from "vitest";
import { monitorConfigFor } from "@/lib/alerts/sentry";
import { defineJob } from "@/lib/cron/define-job";
import { occurrencesBetween } from "@/lib/cron/schedule";
import { monitorScheduleFor } from "@/lib/app/observers";
import { tickJob } from "@/lib/app/tick";
import { deliveryGraceMs, TICK_PATH, VERCEL_PLANS, vercelCronsFor } from "@/lib/vercel/crons";

/**
 * The tick's Sentry cron monitor expects check-ins when vercel.json fires the tick on the plan
 * (every minute on Pro, once a day on Hobby), with the plan's margin: Hobby gets no missed
 * check-in for the 23 hours and 59 minutes it does not run, nor for a delivery late in the hour.
 */

const MIN = 60_000;
const tickEntry = (plan: (typeof VERCEL_PLANS)[number]) => vercelCronsFor([], plan).find((c) => c.path === TICK_PATH)!;
const tickMonitor = (plan: (typeof VERCEL_PLANS)[number]) => monitorConfigFor(tickJob, plan, monitorScheduleFor(tickJob, plan))!;

describe("the tick's cron monitor", () => {
  it.each(VERCEL_PLANS)("on %s expects the tick's vercel.json schedule, in UTC", (plan) => {
    expect(tickMonitor(plan).schedule).toEqual({ type: "crontab", value: tickEntry(plan).schedule });
    expect(tickMonitor(plan).timezone).toBe("UTC");
  });

  it("on Hobby expects one check-in a day with an hour's margin; on Pro one a minute with a minute's", () => {
    expect(tickMonitor("hobby")).toMatchObject({ schedule: { value: "0 0 * * *" }, checkinMargin: 60 });
    expect(tickMonitor("pro")).toMatchObject({ schedule: { value: "* * * * *" }, checkinMargin: 1 });
  });

  it.each(VERCEL_PLANS)("on %s, every delivery the platform may make falls within an expected check-in's margin", (plan) => {
    const monitor = tickMonitor(plan);
    const schedule = { cron: String(monitor.schedule.value), timezone: monitor.timezone };
    const day = Date.parse("2026-11-21T00:00:00Z");
    const expected = occurrencesBetween(schedule, new Date(day - 1), new Date(day + 86_400_000 - 1), 2_000).map((d) => d.getTime());
    // Vercel fires the tick's entry within the grace after each of its slots.
    const deliveries = occurrencesBetween({ cron: tickEntry(plan).schedule, timezone: "UTC" }, new Date(day - 1), new Date(day + 86_400_000 - 1), 2_000).map(
      (slot) => slot.getTime() + deliveryGraceMs(plan) - 1,
    );
    for (const delivery of deliveries) {
      expect(expected.some((slot) => delivery >= slot && delivery - slot < monitor.checkinMargin * MIN)).toBe(true);
    }
    expect(expected).toHaveLength(plan === "hobby" ? 1 : 1_440);
  });

  it("leaves every other job's monitor on the job's own schedule and timezone", () => {
    const job = defineJob({ name: "paris-report", schedule: { cron: "0 9 * * 1", timezone: "Europe/Paris" }, handler: () => {} });
    for (const plan of VERCEL_PLANS) {
      expect(monitorConfigFor(job, plan, monitorScheduleFor(job, plan))).toMatchObject({ schedule: { value: "0 9 * * 1" }, timezone: "Europe/Paris" });
    }
  });
});
