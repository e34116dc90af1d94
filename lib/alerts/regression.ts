import type { JobDefinition } from "../cron/define-job";
import type { DurationBaseline } from "../db/queries/regression";

/** A job's regression setting as its definition keeps it (alerts.regression; null: off). */
export type RegressionSetting = NonNullable<JobDefinition["alerts"]["regression"]>;

/** The verdict on one completed run's duration against its job's recent p95. */
export type RegressionVerdict =
  | { regressed: true; durationMs: number; p95Ms: number; factor: number; runsCompared: number; ratio: number }
  | { regressed: false; reason: "too_few_runs" | "within_threshold"; runsCompared: number };

/**
 * The regression rule, in one place: a run regressed when it took more than `factor` times the
 * p95 of the runs before it, once at least `minRuns` of them exist. A p95 of 0 ms (runs too quick
 * to measure) is taken as 1 ms, so a job whose runs all took 0 ms alerts only past `factor` ms.
 */
export function judgeDuration(durationMs: number, baseline: DurationBaseline, setting: RegressionSetting): RegressionVerdict {
  if (baseline.p95Ms === null || baseline.runs < setting.minRuns) return { regressed: false, reason: "too_few_runs", runsCompared: baseline.runs };
  const p95Ms = Math.max(baseline.p95Ms, 1);
  if (durationMs <= setting.factor * p95Ms) return { regressed: false, reason: "within_threshold", runsCompared: baseline.runs };
  return { regressed: true, durationMs, p95Ms: Math.round(baseline.p95Ms * 10) / 10, factor: setting.factor, runsCompared: baseline.runs, ratio: Math.round((durationMs / p95Ms) * 10) / 10 };
}

/** The alert's error line: what the run took against what it is compared with. */
export function describeRegression(v: Extract<RegressionVerdict, { regressed: true }>): string {
  return `took ${v.durationMs} ms, ${v.ratio}x the p95 of its last ${v.runsCompared} completed runs (${v.p95Ms} ms); the threshold is ${v.factor}x`;
}
