import { describe, expect, it } from "vitest";
import { describeRegression, judgeDuration } from "@/lib/alerts/regression";
import { defineJob } from "@/lib/cron/define-job";

/** The regression rule on its own: thresholds, the minimum history, and the message. */

const setting = { factor: 3, window: 50, minRuns: 10 };

describe("judgeDuration", () => {
  it("says nothing before minRuns completed runs exist", () => {
    expect(judgeDuration(10_000, { runs: 9, p95Ms: 10 }, setting)).toEqual({ regressed: false, reason: "too_few_runs", runsCompared: 9 });
    expect(judgeDuration(10_000, { runs: 0, p95Ms: null }, setting)).toEqual({ regressed: false, reason: "too_few_runs", runsCompared: 0 });
  });

  it("alerts only above factor x p95, not at it", () => {
    expect(judgeDuration(300, { runs: 10, p95Ms: 100 }, setting)).toMatchObject({ regressed: false, reason: "within_threshold" });
    const v = judgeDuration(301, { runs: 10, p95Ms: 100 }, setting);
    expect(v).toEqual({ regressed: true, durationMs: 301, p95Ms: 100, factor: 3, runsCompared: 10, ratio: 3 });
    expect(judgeDuration(1_000, { runs: 50, p95Ms: 100 }, { ...setting, factor: 10 })).toMatchObject({ regressed: false });
    expect(judgeDuration(1_001, { runs: 50, p95Ms: 100 }, { ...setting, factor: 10 })).toMatchObject({ regressed: true, ratio: 10 });
  });

  it("treats a 0 ms p95 as 1 ms, so runs too quick to measure alert only past factor ms", () => {
    expect(judgeDuration(3, { runs: 20, p95Ms: 0 }, setting)).toMatchObject({ regressed: false });
    expect(judgeDuration(4, { runs: 20, p95Ms: 0 }, setting)).toMatchObject({ regressed: true, p95Ms: 0, ratio: 4 });
  });

  it("describes the run against its baseline", () => {
    const v = judgeDuration(2_000, { runs: 12, p95Ms: 200.44 }, setting);
    if (!v.regressed) throw new Error("expected a regression");
    expect(describeRegression(v)).toBe("took 2000 ms, 10x the p95 of its last 12 completed runs (200.4 ms); the threshold is 3x");
  });

  it("takes the job's definition as it is: default on (3x, 50 runs, 10 at least), off with false", () => {
    const on = defineJob({ name: "r-on", schedule: "* * * * *", handler: () => {} });
    expect(on.alerts.regression).toEqual(setting);
    const off = defineJob({ name: "r-off", schedule: "* * * * *", handler: () => {}, alerts: { regression: false } });
    expect(off.alerts.regression).toBeNull();
  });
});
