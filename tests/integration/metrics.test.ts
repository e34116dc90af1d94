import { sql } from "drizzle-orm";
import { beforeAll, expect, it } from "vitest";
import { metricsSnapshot } from "@/lib/db/queries/metrics";
import { tickHealth } from "@/lib/db/queries/tick-health";
import { crondeckMetrics, METRICS_WINDOW_HOURS } from "@/lib/metrics/crondeck";
import { exposition } from "@/lib/metrics/exposition";
import { describeOnDatabases } from "../support/db";
import { compareSamples, expectedSamples, parseScrape, sampleKey } from "../support/metrics-oracle";

/**
 * The metrics read from known rows, on PGlite and the Postgres server: the exposition parses
 * with a real Prometheus parser, and every sample equals an exact aggregate over the raw rows
 * (tests/support/metrics-oracle.ts), including the histogram buckets the rollups give.
 */

const NOW = new Date("2026-06-15T12:00:00.000Z");
const at = (msBefore: number) => new Date(NOW.getTime() - msBefore).toISOString();
const MIN = 60_000;
const HOUR = 3_600_000;
const JOBS = ["m-alpha", "m-beta", "m-empty", "crondeck-tick"];

describeOnDatabases("metrics from the database", (ctx) => {
  let text = "";

  beforeAll(async () => {
    const { db } = ctx;
    const run = (job: string, status: string, startedMsBefore: number, extra: { durationMs?: number | null; trigger?: string; skipReason?: string; dedupe?: string } = {}) =>
      db.execute(sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger, skip_reason, dedupe_key, holder)
                     VALUES (${job}, ${status}, ${at(startedMsBefore)}::timestamptz,
                             ${["completed", "failed", "timed_out", "abandoned"].includes(status) ? at(startedMsBefore - (extra.durationMs ?? 0)) : null}::timestamptz,
                             ${extra.durationMs ?? null}, ${extra.trigger ?? "schedule"}, ${extra.skipReason ?? null}, ${extra.dedupe ?? null}, 'test:1')`);
    // m-alpha: completed runs whose durations sit on and beside the histogram's bounds ((2^k - 1) ms).
    const durations = [0, 1, 2, 3, 4, 7, 8, 1_000, 1_023, 1_024];
    for (const [i, d] of durations.entries()) await run("m-alpha", "completed", (i + 1) * MIN, { durationMs: d, trigger: i % 3 === 0 ? "manual" : "schedule" });
    await run("m-alpha", "failed", 30 * MIN, { durationMs: 50 });
    await run("m-alpha", "failed", 31 * MIN, { durationMs: 60, trigger: "retry" });
    await run("m-alpha", "timed_out", 32 * MIN, { durationMs: 10_000 });
    await run("m-alpha", "abandoned", 33 * MIN, { durationMs: null });
    await run("m-alpha", "missed", 34 * MIN);
    await run("m-alpha", "skipped", 35 * MIN, { skipReason: "duplicate" });
    await run("m-alpha", "skipped", 36 * MIN, { skipReason: "duplicate" });
    await run("m-alpha", "skipped", 37 * MIN, { skipReason: "already_running" });
    await run("m-alpha", "skipped", 38 * MIN, { skipReason: "paused" });
    // Older than the window: in the totals and the histogram, not in the last-24-hours figures.
    await run("m-alpha", "completed", 30 * HOUR, { durationMs: 250 });
    await run("m-alpha", "skipped", 30 * HOUR, { skipReason: "duplicate" });
    await run("m-alpha", "started", 10_000);
    await db.execute(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, expires_at) VALUES ('m-alpha', gen_random_uuid(), 7, 'test:1', ${at(-60_000)}::timestamptz)`);
    await db.execute(sql`INSERT INTO cron_job_config (job_name, consecutive_failures) VALUES ('m-alpha', 0), ('m-beta', 3)`);
    // m-beta: failures only, a queued row, a deferred retry, an expired lease (not held), dead letters.
    await run("m-beta", "failed", 5 * MIN, { durationMs: 2_000 });
    await run("m-beta", "retry_scheduled", 4 * MIN, { durationMs: null });
    await run("m-beta", "queued", 3 * MIN, { dedupe: "slot:queued" });
    await db.execute(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, expires_at) VALUES ('m-beta', gen_random_uuid(), 8, 'test:1', ${at(60_000)}::timestamptz)`);
    for (const status of ["pending", "pending", "resolved"]) {
      await db.execute(sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, recovery_status) VALUES (gen_random_uuid(), 'm-beta', 'boom', ${status})`);
    }
    // The tick ran 90 s ago (and a duplicate delivery of it was skipped since).
    await run("crondeck-tick", "completed", 90_000, { durationMs: 40, trigger: "tick" });
    await run("crondeck-tick", "skipped", 80_000, { trigger: "tick", skipReason: "duplicate" });
    // Alert deliveries.
    for (const [channel, status] of [["slack", "sent"], ["slack", "sent"], ["slack", "suppressed"], ["email", "failed"], ["webhook", "sent"], ["sentry", "sent"]]) {
      await db.execute(sql`INSERT INTO cron_alerts (job_name, kind, channel, status) VALUES ('m-beta', 'failure', ${channel}, ${status})`);
    }

    const snapshot = await metricsSnapshot(db, { jobs: JOBS, now: NOW, windowHours: METRICS_WINDOW_HOURS });
    const tick = await tickHealth(db, { now: NOW, expectedEveryMs: 60_000, graceMs: 60_000 });
    text = exposition(crondeckMetrics(snapshot, tick, 12));
  });

  it("parses with a real Prometheus parser, with the types the names promise", () => {
    const { types } = parseScrape(text);
    for (const [name, type] of types) {
      if (name.endsWith("_total")) expect(type, name).toBe("counter");
      if (type === "counter") expect(name, name).toMatch(/_total$/);
    }
    expect(types.get("crondeck_run_duration_seconds")).toBe("histogram");
    expect(text.endsWith("\n")).toBe(true);
  });

  it("equals exact aggregates over the raw rows, sample for sample", async () => {
    const { samples } = parseScrape(text);
    const expected = await expectedSamples(ctx.db, { jobs: JOBS, now: NOW, windowHours: METRICS_WINDOW_HOURS, tick: { expectedEverySeconds: 60, late: false } });
    expect(compareSamples(samples, expected)).toEqual([]);
    expect(samples.size).toBeGreaterThan(100);
  });

  it("says what the rows say, read by hand", () => {
    const { samples } = parseScrape(text);
    const v = (name: string, labels: Record<string, string> = {}) => samples.get(sampleKey(name, labels));
    // Durations 0,1,2,3,4,7,8,1000,1023,1024 ms + 250 (older) + failures 50, 60, 10000 (abandoned: none).
    expect(v("crondeck_run_duration_seconds_bucket", { job: "m-alpha", le: "0" })).toBe(1);
    expect(v("crondeck_run_duration_seconds_bucket", { job: "m-alpha", le: "0.001" })).toBe(2);
    expect(v("crondeck_run_duration_seconds_bucket", { job: "m-alpha", le: "0.007" })).toBe(6);
    expect(v("crondeck_run_duration_seconds_bucket", { job: "m-alpha", le: "1.023" })).toBe(12);
    expect(v("crondeck_run_duration_seconds_bucket", { job: "m-alpha", le: "+Inf" })).toBe(14);
    expect(v("crondeck_run_duration_seconds_sum", { job: "m-alpha" })).toBeCloseTo((0 + 1 + 2 + 3 + 4 + 7 + 8 + 1000 + 1023 + 1024 + 250 + 50 + 60 + 10_000) / 1000, 9);
    expect(v("crondeck_runs_total", { job: "m-alpha", status: "completed" })).toBe(11);
    expect(v("crondeck_runs_total", { job: "m-alpha", status: "failed" })).toBe(2);
    expect(v("crondeck_runs_total", { job: "m-alpha", status: "timed_out" })).toBe(1);
    expect(v("crondeck_runs_total", { job: "m-alpha", status: "abandoned" })).toBe(1);
    expect(v("crondeck_runs_total", { job: "m-alpha", status: "missed" })).toBe(1);
    expect(v("crondeck_runs_last_24h", { job: "m-alpha", trigger: "manual", status: "completed" })).toBe(4);
    expect(v("crondeck_runs_last_24h", { job: "m-alpha", trigger: "retry", status: "failed" })).toBe(1);
    expect(v("crondeck_skips_last_24h", { job: "m-alpha", reason: "duplicate" })).toBe(2);
    expect(v("crondeck_claim_losers_last_24h", { job: "m-alpha", reason: "already_running" })).toBe(1);
    // 10 completed + 2 failed + timed out + abandoned + 4 skips + the running one: the missed slot is no claim.
    expect(v("crondeck_claims_last_24h", { job: "m-alpha" })).toBe(19);
    expect(v("crondeck_runs_in_progress", { job: "m-alpha", status: "started" })).toBe(1);
    expect(v("crondeck_runs_in_progress", { job: "m-beta", status: "queued" })).toBe(1);
    expect(v("crondeck_runs_in_progress", { job: "m-beta", status: "retry_scheduled" })).toBe(1);
    expect(v("crondeck_lease_held", { job: "m-alpha" })).toBe(1);
    expect(v("crondeck_lease_held", { job: "m-beta" })).toBe(0);
    expect(v("crondeck_consecutive_failures", { job: "m-beta" })).toBe(3);
    expect(v("crondeck_dead_letters_pending", { job: "m-beta" })).toBe(2);
    expect(v("crondeck_last_success_timestamp_seconds", { job: "m-alpha" })).toBe((NOW.getTime() - MIN) / 1000);
    expect(v("crondeck_last_run_timestamp_seconds", { job: "m-alpha" })).toBe((NOW.getTime() - 10_000) / 1000);
    expect(v("crondeck_last_success_timestamp_seconds", { job: "m-empty" })).toBeUndefined();
    expect(v("crondeck_runs_total", { job: "m-empty", status: "completed" })).toBe(0);
    expect(v("crondeck_run_duration_seconds_count", { job: "m-empty" })).toBe(0);
    expect(v("crondeck_tick_lag_seconds")).toBe(90);
    expect(v("crondeck_tick_late")).toBe(0);
    expect(v("crondeck_alerts_total", { channel: "slack", status: "sent" })).toBe(2);
    expect(v("crondeck_alerts_total", { channel: "slack", status: "suppressed" })).toBe(1);
    expect(v("crondeck_alerts_total", { channel: "email", status: "failed" })).toBe(1);
    expect(v("crondeck_alerts_total", { channel: "webhook", status: "failed" })).toBe(0);
  });
});
