import { ALERT_CHANNELS, LOCK_MISS_REASONS, SKIP_REASONS, type SkipReason } from "../cron/vocabulary";
import type { MetricsSnapshot } from "../db/queries/metrics";
import type { TickHealth } from "../db/queries/tick-health";
import { durationBucketIndex } from "../db/queries/rollups";
import { histogramSamples, type MetricFamily, type Sample } from "./exposition";

/**
 * Crondeck's metrics as Prometheus families, from one database snapshot
 * (lib/db/queries/metrics.ts) and the tick's health. Names follow Prometheus conventions:
 * crondeck_ prefix, base units (seconds), _total for counters, _timestamp_seconds for instants.
 */

/** The window of the figures the rollups do not keep (triggers, skips, claims). */
export const METRICS_WINDOW_HOURS = 24;

/** The final statuses the rollups count (crondeck_runs_total's status label). */
export const ROLLED_UP_STATUSES = ["completed", "failed", "timed_out", "abandoned", "missed"] as const;
/** The statuses of rows still under way (crondeck_runs_in_progress). */
export const IN_PROGRESS_STATUSES = ["started", "queued", "retry_scheduled"] as const;
/** Delivery outcomes of cron_alerts rows counted per channel ("sending" is a delivery under way). */
export const ALERT_OUTCOMES = ["sent", "failed", "suppressed"] as const;
/** Channels cron_alerts records: the alert channels and Sentry. */
const ALERT_METRIC_CHANNELS = [...ALERT_CHANNELS, "sentry"] as const;

/**
 * The histogram's upper bounds: (2^k - 1) ms for k = 0..20, that is 0 ms, 1 ms, 3 ms, 7 ms ...
 * 1,048.575 s. Durations are whole milliseconds and the rollup's buckets are
 * [2^((i-1)/4), 2^(i/4)) ms, so "at most 2^k - 1 ms" is exactly the rollup buckets below the
 * one 2^k ms falls in: each cumulative count is exact, not interpolated.
 */
export const DURATION_BOUNDS_MS: readonly number[] = Array.from({ length: 21 }, (_, k) => 2 ** k - 1);

const seconds = (ms: number) => ms / 1000;
const epochSeconds = (d: Date) => d.getTime() / 1000;

/** Cumulative counts of a rollup histogram (bucket index -> runs) at DURATION_BOUNDS_MS. */
export function cumulativeAtBounds(histogram: ReadonlyMap<number, number>): number[] {
  return DURATION_BOUNDS_MS.map((boundMs) => {
    const firstAbove = durationBucketIndex(boundMs + 1);
    let n = 0;
    for (const [idx, count] of histogram) if (idx < firstAbove) n += count;
    return n;
  });
}

const family = (name: string, type: MetricFamily["type"], help: string, samples: Sample[]): MetricFamily => ({ name, type, help, samples });

export function crondeckMetrics(snapshot: MetricsSnapshot, tick: TickHealth, scrapeMs: number): MetricFamily[] {
  const jobs = [...snapshot.totals.keys()];
  const w = `${snapshot.windowHours} hours`;
  const inWindow = snapshot.window;

  const runsTotal: Sample[] = [];
  const durations: Sample[] = [];
  for (const [job, t] of snapshot.totals) {
    const byStatus = { completed: t.completed, failed: t.failed, timed_out: t.timedOut, abandoned: t.abandoned, missed: t.missed };
    for (const status of ROLLED_UP_STATUSES) runsTotal.push({ labels: { job, status }, value: byStatus[status] });
    durations.push(...histogramSamples({ job }, { bounds: DURATION_BOUNDS_MS.map(seconds), cumulative: cumulativeAtBounds(t.histogram), count: t.durationCount, sum: seconds(t.durationSumMs) }));
  }

  const inProgress: Sample[] = [];
  for (const job of jobs) {
    for (const status of IN_PROGRESS_STATUSES) {
      inProgress.push({ labels: { job, status }, value: snapshot.active.find((a) => a.jobName === job && a.status === status)?.count ?? 0 });
    }
  }

  // The window's rows come per skip reason too: one sample per job, trigger and status.
  const recentBy = new Map<string, Sample>();
  for (const r of inWindow) {
    const key = JSON.stringify([r.jobName, r.trigger, r.status]);
    const sample = recentBy.get(key) ?? { labels: { job: r.jobName, trigger: r.trigger, status: r.status }, value: 0 };
    sample.value += r.count;
    recentBy.set(key, sample);
  }
  const recent = [...recentBy.values()];
  const skipsOf = (job: string, reason: string) => inWindow.filter((r) => r.jobName === job && r.status === "skipped" && r.skipReason === reason).reduce((a, r) => a + r.count, 0);
  const skips: Sample[] = jobs.flatMap((job) => (Object.keys(SKIP_REASONS) as SkipReason[]).map((reason) => ({ labels: { job, reason }, value: skipsOf(job, reason) })));
  // Every trigger row but a missed slot (which the tick writes) is one claim: crondeck_claim's one round trip.
  const claims: Sample[] = jobs.map((job) => ({ labels: { job }, value: inWindow.filter((r) => r.jobName === job && r.status !== "missed").reduce((a, r) => a + r.count, 0) }));
  const losers: Sample[] = jobs.flatMap((job) => LOCK_MISS_REASONS.map((reason) => ({ labels: { job, reason }, value: skipsOf(job, reason) })));

  const perState = (pick: (s: NonNullable<ReturnType<MetricsSnapshot["states"]["get"]>>) => number | null): Sample[] =>
    jobs.flatMap((job) => {
      const state = snapshot.states.get(job);
      const value = state ? pick(state) : null;
      return value === null ? [] : [{ labels: { job }, value }];
    });

  const alerts: Sample[] = [];
  for (const channel of ALERT_METRIC_CHANNELS) {
    for (const status of ALERT_OUTCOMES) alerts.push({ labels: { channel, status }, value: snapshot.alerts.filter((a) => a.channel === channel && a.status === status).reduce((s, a) => s + a.count, 0) });
  }
  for (const a of snapshot.alerts) {
    const known = (ALERT_METRIC_CHANNELS as readonly string[]).includes(a.channel) && (ALERT_OUTCOMES as readonly string[]).includes(a.status);
    if (known) continue;
    const existing = alerts.find((s) => s.labels.channel === a.channel && s.labels.status === a.status);
    if (existing) existing.value += a.count;
    else alerts.push({ labels: { channel: a.channel, status: a.status }, value: a.count });
  }

  const tickSamples = (value: number | null): Sample[] => (value === null ? [] : [{ labels: {}, value }]);
  return [
    family("crondeck_runs_total", "counter", "Finished runs and missed slots by job and final status, from the rollups (all the rows the run log holds).", runsTotal),
    family("crondeck_run_duration_seconds", "histogram", "Durations of finished runs by job, from the rollups' log-scale histograms (bounds are (2^k - 1) ms: exact for whole milliseconds).", durations),
    family("crondeck_runs_in_progress", "gauge", "Rows under way now by job and status: running, queued behind a lease, waiting for a deferred retry.", inProgress),
    family("crondeck_runs_last_24h", "gauge", `Rows started in the last ${w} by job, trigger and status (runs, skips and missed slots: every trigger is a row).`, recent),
    family("crondeck_skips_last_24h", "gauge", `Skipped triggers in the last ${w} by job and reason.`, skips),
    family("crondeck_claims_last_24h", "gauge", `Claims in the last ${w} by job: each trigger's claim is one database round trip (crondeck_claim), won or lost.`, claims),
    family("crondeck_claim_losers_last_24h", "gauge", `Claims lost in the last ${w} by job and reason: the slot already had its run (duplicate) or another run held the lease (already_running).`, losers),
    family("crondeck_last_success_timestamp_seconds", "gauge", "When the job's latest completed run finished, seconds since the epoch (absent: never).", perState((s) => (s.lastSuccessAt ? epochSeconds(s.lastSuccessAt) : null))),
    family("crondeck_last_run_timestamp_seconds", "gauge", "When the job's latest run started (skips and missed slots are not runs), seconds since the epoch (absent: never).", perState((s) => (s.lastRunAt ? epochSeconds(s.lastRunAt) : null))),
    family("crondeck_consecutive_failures", "gauge", "The job's failures in a row (0 after a success).", perState((s) => s.consecutiveFailures)),
    family("crondeck_dead_letters_pending", "gauge", "The job's dead-letter entries waiting for an operator.", perState((s) => s.deadLettersPending)),
    family("crondeck_lease_held", "gauge", "1 while a run holds the job's lease (unexpired), else 0.", perState((s) => (s.leaseHeld ? 1 : 0))),
    family("crondeck_tick_last_run_timestamp_seconds", "gauge", "When the tick's latest run started, seconds since the epoch (absent: it never ran).", tickSamples(tick.lastRun ? Date.parse(tick.lastRun.startedAt) / 1000 : null)),
    family("crondeck_tick_lag_seconds", "gauge", "Seconds since the tick's latest run started (absent: it never ran).", tickSamples(tick.lagMs === null ? null : seconds(tick.lagMs))),
    family("crondeck_tick_expected_interval_seconds", "gauge", "How often the tick should run on this plan.", tickSamples(seconds(tick.expectedEveryMs))),
    family("crondeck_tick_late", "gauge", "1 when the tick has not run within its interval and the plan's delivery grace, else 0.", tickSamples(tick.late ? 1 : 0)),
    family("crondeck_alerts_total", "counter", "Alert deliveries by channel and outcome (sent, failed, suppressed by the re-alert window), from cron_alerts.", alerts),
    family("crondeck_metrics_query_seconds", "gauge", "How long this scrape's database reads took.", [{ labels: {}, value: seconds(scrapeMs) }]),
  ];
}
