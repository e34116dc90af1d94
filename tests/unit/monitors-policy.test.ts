import { describe, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { missedAlertFor, type MonitorsReport } from "@/lib/cron/tick";
import { parseEnv } from "@/lib/env";
import { backlogBreached, dueForAlert, effectiveRate, jobMonitorSettings, lateMarginMs, monitorSettingsFromEnv, rateBreached } from "@/lib/monitors/policy";
import { tickWorld } from "../support/memory-tick-store";

let counter = 0;
const job = (alerts: JobConfig["alerts"] = {}, config: Partial<JobConfig> = {}) => defineJob({ name: `monitor-policy-${++counter}`, schedule: "*/10 * * * *", handler: () => {}, alerts, ...config });
const settings = monitorSettingsFromEnv(parseEnv({}));
const emptyReport = (): MonitorsReport => ({ late: [], longRunning: [], open: [], recovered: [], alerted: 0, errors: [] });

describe("monitor policy", () => {
  it("takes the environment's defaults for the fields a job leaves out, and none when the job turns a threshold off", () => {
    expect(settings.rates).toEqual({
      failure_rate: { abovePercent: 10, windowMs: 3_600_000, minRuns: 10 },
      timeout_rate: { abovePercent: 5, windowMs: 3_600_000, minRuns: 10 },
      lock_contention: { abovePercent: 70, windowMs: 3_600_000, minRuns: 10 },
    });
    const own = job({ failureRate: { above: 25, window: "30m" }, timeoutRate: false });
    expect(effectiveRate(own, "failure_rate", settings)).toEqual({ abovePercent: 25, windowMs: 1_800_000, minRuns: 10 });
    expect(effectiveRate(own, "timeout_rate", settings)).toBeNull();
    expect(effectiveRate(own, "lock_contention", settings)).toEqual(settings.rates.lock_contention);
    const custom = monitorSettingsFromEnv(parseEnv({ CRON_ALERT_FAILURE_RATE: "2", CRON_ALERT_RATE_WINDOW: "10m", CRON_ALERT_RATE_MIN_RUNS: "3" }));
    expect(effectiveRate(job(), "failure_rate", custom)).toEqual({ abovePercent: 2, windowMs: 600_000, minRuns: 3 });
  });

  it("late margin: alerts.lateAfter, else the plan's grace; none when off", () => {
    expect(lateMarginMs(job(), 60_000)).toBe(60_000);
    expect(lateMarginMs(job(), 3_600_000)).toBe(3_600_000);
    expect(lateMarginMs(job({ lateAfter: "5m" }), 60_000)).toBe(300_000);
    expect(lateMarginMs(job({ lateAfter: false }), 60_000)).toBeNull();
  });

  it("a rate is over its threshold only strictly above it and with at least minRuns runs", () => {
    const rate = { abovePercent: 10, windowMs: 3_600_000, minRuns: 10 };
    expect(rateBreached({ runs: 10, matching: 1 }, rate)).toBe(false); // 10% is not above 10%
    expect(rateBreached({ runs: 10, matching: 2 }, rate)).toBe(true);
    expect(rateBreached({ runs: 9, matching: 9 }, rate)).toBe(false);
    expect(rateBreached({ runs: 0, matching: 0 }, { ...rate, minRuns: 0 })).toBe(false);
  });

  it("the dead-letter backlog is over by count or by age", () => {
    const now = new Date("2026-06-01T12:00:00Z");
    expect(backlogBreached({ pending: 10, oldestPendingAt: new Date("2026-06-01T11:00:00Z") }, now, settings)).toBe(false);
    expect(backlogBreached({ pending: 11, oldestPendingAt: new Date("2026-06-01T11:00:00Z") }, now, settings)).toBe(true);
    expect(backlogBreached({ pending: 1, oldestPendingAt: new Date("2026-05-31T11:59:59Z") }, now, settings)).toBe(true);
    expect(backlogBreached({ pending: 0, oldestPendingAt: null }, now, settings)).toBe(false);
  });

  it("an open monitor alerts on open, then only once the re-alert window has passed", () => {
    const now = new Date("2026-06-01T12:00:00Z");
    expect(dueForAlert({ opened: true, alertedAt: null }, now, 3_600_000)).toBe(true);
    expect(dueForAlert({ opened: false, alertedAt: null }, now, 3_600_000)).toBe(true); // never delivered: try again
    expect(dueForAlert({ opened: false, alertedAt: new Date("2026-06-01T11:00:01Z") }, now, 3_600_000)).toBe(false);
    expect(dueForAlert({ opened: false, alertedAt: new Date("2026-06-01T11:00:00Z") }, now, 3_600_000)).toBe(true);
  });

  it("a slot nobody triggered alerts as late or as missed, never both", () => {
    expect(missedAlertFor(job(), true)).toBe(false);
    expect(missedAlertFor(job(), false)).toBe(true);
    expect(missedAlertFor(job({ lateAfter: false }), true)).toBe(true);
  });

  it("shows every effective value beside the code's setting and the environment's default", () => {
    const shown = jobMonitorSettings(job({ failureRate: { above: 25 } }, { timeout: "60s" }), 60_000, settings);
    expect(shown).toMatchObject({ lateAfterMs: 60_000, lateAfterFrom: "plan", maxRuntimeMs: 48_000, timeoutMs: 60_000 });
    expect(shown.thresholds.failure_rate).toEqual({ effective: { abovePercent: 25, windowMs: 3_600_000, minRuns: 10 }, code: { abovePercent: 25, windowMs: null, minRuns: null }, envDefault: settings.rates.failure_rate });
  });
});

describe("the tick's monitors step", () => {
  const T0 = Date.parse("2026-08-01T08:00:30Z");

  it("a monitors step that throws is reported and stops none of the tick's other parts", async () => {
    const j = job();
    const owned = job({}, { schedule: { cron: "* * * * *", timezone: "Europe/Paris" } });
    const w = tickWorld([j, owned], {
      monitors: async () => {
        throw new Error("cron_monitors: connection terminated");
      },
    });
    await w.tick(T0);
    const report = await w.tick(T0 + 11 * 60_000);
    expect(report.errors).toEqual([{ scope: "monitors", error: "cron_monitors: connection terminated" }]);
    expect(report.monitors).toBeNull();
    expect(report.missed.map((m) => m.jobName)).toEqual([j.name, owned.name]);
    expect(report.dispatched.map((d) => d.request.jobName)).toEqual([owned.name]);
  });

  it("gets each job's state (null when the states could not be read) and passes its parts' errors on", async () => {
    const j = job();
    const paused = job();
    const seen: Array<Array<[string, string | null]>> = [];
    const w = tickWorld([j, paused], {
      monitors: async ({ jobs }) => {
        seen.push(jobs.map(({ job, state }) => [job.name, state]));
        return { ...emptyReport(), errors: [{ scope: "monitors: rates", error: "statement timeout" }] };
      },
    });
    w.store.setConfig(paused.name, { paused: true });
    const report = await w.tick(T0);
    expect(report.errors).toEqual([{ scope: "monitors: rates", error: "statement timeout" }]);
    w.store.failNext("jobConfigs", new Error("jobConfigs: timeout"));
    await w.tick(T0 + 60_000);
    expect(seen).toEqual([
      [
        [j.name, "enabled"],
        [paused.name, "paused"],
      ],
      [
        [j.name, null],
        [paused.name, null],
      ],
    ]);
  });
});
