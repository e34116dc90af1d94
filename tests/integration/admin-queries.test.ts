import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import { jobsDashboard } from "@/lib/app/jobs";
import { OperationError } from "@/lib/cron/errors";
import { jobDetail } from "@/lib/db/queries/job-detail";
import { jobsOverview, jobState, summarize } from "@/lib/db/queries/jobs";
import { locks } from "@/lib/db/queries/leases";
import { durationBucketIndex, durationBucketMiddleMs } from "@/lib/db/queries/rollups";
import { getRun } from "@/lib/db/queries/run-detail";
import { jobHistory, runningJobs } from "@/lib/db/queries/runs";
import { runsPerStatus, statistics } from "@/lib/db/queries/statistics";
import { writeAudit } from "@/lib/db/commands/audit";
import { replayDeadLetter } from "@/lib/db/commands/dead-letters";
import { pauseJob, pauseJobs, setJobEnabled } from "@/lib/db/commands/jobs";
import { clearLease } from "@/lib/db/commands/leases";
import { queryRows, type Db } from "@/lib/db/client";
import { listAudit } from "@/lib/db/queries/audit";
import { listDeadLetters } from "@/lib/db/queries/dead-letters";
import type { Actor } from "@/lib/cron/vocabulary";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

const admin: Actor = { name: "admin", via: "cookie", ip: "203.0.113.9" };
const apiToken: Actor = { name: "api-token", via: "bearer", ip: null };

let counter = 0;
const uniqueName = (prefix = "adm") => `${prefix}-${process.pid}-${++counter}`;
const job = (overrides: Partial<JobConfig> = {}) => defineJob({ name: uniqueName(), schedule: "*/10 * * * *", handler: async () => "ok", ...overrides });
const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};

interface Row {
  job: string;
  status: string;
  /** How long before now the run started (a Postgres interval). */
  ago?: string;
  durationMs?: number | null;
  skipReason?: string | null;
  trigger?: string;
  error?: string | null;
}

async function insertRun(db: Db, r: Row): Promise<string> {
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, skip_reason, trigger, error_message)
        VALUES (${r.job}, ${r.status}, now() - ${r.ago ?? "0 seconds"}::interval,
                CASE WHEN ${r.status} IN ('started', 'queued', 'retry_scheduled') THEN NULL ELSE now() END,
                ${r.durationMs ?? null}::int, ${r.skipReason ?? null}::text, ${r.trigger ?? "schedule"}, ${r.error ?? null}::text)
        RETURNING id`,
  );
  return row.id;
}

/** The rollup rows of a job (hourly, or daily), and the same figures aggregated from the raw rows: they must match. */
async function rollupVsRaw(db: Db, jobName: string, unit: "hour" | "day" = "hour") {
  const table = unit === "hour" ? sql`cron_job_stats_hourly` : sql`cron_job_stats_daily`;
  const rollup = await queryRows(
    db,
    sql`SELECT bucket, successes, failures, timed_out, abandoned, missed, duration_sum_ms::bigint::text AS sum, duration_count,
               (SELECT coalesce(json_object_agg(array_lower(s.duration_hist, 1) + u.ord - 1, u.n ORDER BY u.ord), '{}'::json)::text
                  FROM unnest(s.duration_hist) WITH ORDINALITY u(n, ord) WHERE u.n IS NOT NULL AND u.n <> 0) AS hist
        FROM ${table} s WHERE job_name = ${jobName}
          AND (successes + failures + missed) > 0
        ORDER BY bucket`,
  );
  const raw = await queryRows(
    db,
    sql`WITH r AS (
          SELECT date_trunc(${unit}, started_at, 'UTC') AS bucket, status, duration_ms FROM cron_job_logs
          WHERE job_name = ${jobName} AND status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed')
        ), h AS (
          SELECT bucket, crondeck_duration_bucket(duration_ms) AS idx, count(*) AS n FROM r
          WHERE status IN ('completed', 'failed', 'timed_out') AND duration_ms IS NOT NULL GROUP BY 1, 2
        )
        SELECT r.bucket,
               count(*) FILTER (WHERE status = 'completed')::int AS successes,
               count(*) FILTER (WHERE status IN ('failed', 'timed_out', 'abandoned'))::int AS failures,
               count(*) FILTER (WHERE status = 'timed_out')::int AS timed_out,
               count(*) FILTER (WHERE status = 'abandoned')::int AS abandoned,
               count(*) FILTER (WHERE status = 'missed')::int AS missed,
               coalesce(sum(duration_ms) FILTER (WHERE status IN ('completed', 'failed', 'timed_out')), 0)::bigint::text AS sum,
               count(duration_ms) FILTER (WHERE status IN ('completed', 'failed', 'timed_out'))::int AS duration_count,
               (SELECT coalesce(json_object_agg(h.idx, h.n ORDER BY h.idx), '{}'::json)::text FROM h WHERE h.bucket = r.bucket) AS hist
        FROM r GROUP BY r.bucket ORDER BY r.bucket`,
  );
  return { rollup, raw };
}

async function expectRollupExact(db: Db, jobName: string) {
  for (const unit of ["hour", "day"] as const) {
    const { rollup, raw } = await rollupVsRaw(db, jobName, unit);
    expect(rollup, unit).toEqual(raw);
    expect(rollup.length, unit).toBeGreaterThan(0);
  }
}

const rollupTotals = async (db: Db, jobName: string) =>
  (
    await queryRows<{ successes: number; failures: number; missed: number; duration_count: number; sum: number }>(
      db,
      sql`SELECT coalesce(sum(successes), 0)::int AS successes, coalesce(sum(failures), 0)::int AS failures,
                 coalesce(sum(missed), 0)::int AS missed, coalesce(sum(duration_count), 0)::int AS duration_count, coalesce(sum(duration_sum_ms), 0)::int AS sum
          FROM cron_job_stats_hourly WHERE job_name = ${jobName}`,
    )
  )[0];

describeOnDatabases("dashboard rollup (cron_job_stats_hourly)", (ctx) => {
  it("counts a run once when it reaches a final status, whatever happens before or after", async () => {
    const name = uniqueName("roll");
    const id = await insertRun(ctx.db, { job: name, status: "started", ago: "10 minutes" });
    expect(await rollupTotals(ctx.db, name)).toMatchObject({ successes: 0, failures: 0 });
    // Heartbeats and other non-final updates do nothing.
    await ctx.db.execute(sql`UPDATE cron_job_logs SET lease_expires_at = now() + interval '1 minute' WHERE id = ${id}::uuid`);
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'retry_scheduled' WHERE id = ${id}::uuid`);
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'started' WHERE id = ${id}::uuid`);
    expect(await rollupTotals(ctx.db, name)).toMatchObject({ successes: 0, failures: 0, duration_count: 0 });
    // non-final -> final: counted once.
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'completed', duration_ms = 1200 WHERE id = ${id}::uuid`);
    expect(await rollupTotals(ctx.db, name)).toMatchObject({ successes: 1, failures: 0, duration_count: 1, sum: 1200 });
    // The same final status written again (a late duplicate write): no double count.
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'completed' WHERE id = ${id}::uuid`);
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'completed', duration_ms = 1200, error_message = 'x' WHERE id = ${id}::uuid`);
    expect(await rollupTotals(ctx.db, name)).toMatchObject({ successes: 1, failures: 0, duration_count: 1, sum: 1200 });
    // final -> another final: moves, does not add.
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'timed_out', duration_ms = 3000 WHERE id = ${id}::uuid`);
    expect(await rollupTotals(ctx.db, name)).toMatchObject({ successes: 0, failures: 1, duration_count: 1, sum: 3000 });
    // Abandoned: still a failure, but its duration (until its lease was found expired) is not how long it took (0016).
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'abandoned', duration_ms = 21600000 WHERE id = ${id}::uuid`);
    expect(await rollupTotals(ctx.db, name)).toMatchObject({ successes: 0, failures: 1, duration_count: 0, sum: 0 });
    // Inserted directly in a final status: missed slots count; skips are not rolled up (no contention for burst losers).
    await insertRun(ctx.db, { job: name, status: "skipped", ago: "9 minutes", durationMs: 0, skipReason: "already_running" });
    await insertRun(ctx.db, { job: name, status: "missed", ago: "8 minutes", durationMs: 0 });
    await insertRun(ctx.db, { job: name, status: "failed", ago: "7 minutes", durationMs: 20 });
    expect(await rollupTotals(ctx.db, name)).toMatchObject({ successes: 0, failures: 2, missed: 1, duration_count: 1, sum: 20 });
    await expectRollupExact(ctx.db, name);
  });

  it("moves a run between hours when its start changes (a queued run promoted later)", async () => {
    const name = uniqueName("roll");
    const id = await insertRun(ctx.db, { job: name, status: "completed", ago: "3 hours", durationMs: 50 });
    await ctx.db.execute(sql`UPDATE cron_job_logs SET started_at = now() - interval '1 hour' WHERE id = ${id}::uuid`);
    await expectRollupExact(ctx.db, name);
    expect((await rollupVsRaw(ctx.db, name)).rollup).toHaveLength(1);
  });

  it("matches the raw rows after real engine runs, retries, a dead letter and its replays", async () => {
    const deps: EngineDeps = { runs: new PostgresRunStore(ctx.db), holder: "test-host:1", codeVersion: null, settleGraceMs: 50 };
    let fail = true;
    const j = job({ timeout: "5s", retries: 1, backoff: { strategy: "immediate" }, deadLetter: { replayLimit: 3, pauseAfter: 10 }, handler: async () => { if (fail) throw new Error("down"); return "ok"; } });
    const first = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date(Date.now() - 60_000), budgetMs: 60_000 }));
    expect(first.status).toBe("failed");
    // A duplicate delivery of the same slot is a skip row.
    expect(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: first.scheduledFor, budgetMs: 60_000 })).toMatchObject({ kind: "skipped", reason: "duplicate" });
    const [entry] = (await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 })).entries;
    // A failed replay, then a successful one: two new rows, each counted once; the original stays one failure.
    for (const outcome of ["failed", "completed"] as const) {
      fail = outcome === "failed";
      const e = await replayDeadLetter(ctx.db, admin, { id: entry.id, replayLimit: 3, executionId: crypto.randomUUID() });
      const replay = ran(await runTrigger(deps, { job: j, trigger: "replay", scheduledFor: e.scheduledFor ? new Date(e.scheduledFor) : null, replayOf: e.runId, budgetMs: 60_000 }));
      expect(replay.status).toBe(outcome);
    }
    expect(await rollupTotals(ctx.db, j.name)).toMatchObject({ successes: 1, failures: 2, missed: 0 });
    await expectRollupExact(ctx.db, j.name);
  });

  it("recomputes the hours whose rows log retention deletes", async () => {
    const name = uniqueName("roll");
    for (const ago of ["100 days", "100 days 10 minutes", "2 days"]) await insertRun(ctx.db, { job: name, status: "failed", ago, durationMs: 10 });
    expect((await rollupTotals(ctx.db, name)).failures).toBe(3);
    await ctx.db.execute(sql`SELECT cleanup_old_cron_logs(90)`);
    expect(await rollupTotals(ctx.db, name)).toMatchObject({ failures: 1, duration_count: 1, sum: 10 });
    await expectRollupExact(ctx.db, name);
  });

  it("keeps a p95 within 9% of the exact nearest-rank value (log-scale histogram, 4 buckets per doubling)", async () => {
    const name = uniqueName("p95");
    // 1,000 durations spread from 10 ms to about 60 s.
    await ctx.db.execute(
      sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms)
          SELECT ${name}, 'completed', now() - (g || ' minutes')::interval, now(), (10 * power(1.0088, g))::int FROM generate_series(1, 1000) g`,
    );
    const [exact] = await queryRows<{ p95: number }>(
      ctx.db,
      sql`SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95 FROM cron_job_logs WHERE job_name = ${name}`,
    );
    const stats = (await jobHistory(ctx.db, name, { limit: 1, days: 1 })).stats;
    expect(stats.totalRuns).toBe(1000);
    expect(Math.abs(stats.p95Duration! - exact.p95) / exact.p95).toBeLessThan(0.0906);
    // The TypeScript mirror of crondeck_duration_bucket agrees with SQL.
    const samples = [0, 1, 2, 3, 7, 100, 999, 1000, 1001, 65_536, 3_600_000];
    const [sqlIdx] = await queryRows<{ idx: number[] }>(ctx.db, sql`SELECT array_agg(crondeck_duration_bucket(v) ORDER BY o) AS idx FROM unnest(${`{${samples.join(",")}}`}::int[]) WITH ORDINALITY AS t(v, o)`);
    expect(sqlIdx.idx).toEqual(samples.map(durationBucketIndex));
    expect(durationBucketMiddleMs(0)).toBe(0);
  });

  it("is emptied by TRUNCATE and rebuilt exactly by crondeck_stats_rebuild()", async () => {
    const name = uniqueName("roll");
    await insertRun(ctx.db, { job: name, status: "completed", ago: "5 minutes", durationMs: 5 });
    await ctx.db.execute(sql`DELETE FROM cron_job_stats_hourly WHERE job_name = ${name}`);
    await ctx.db.execute(sql`UPDATE cron_job_stats_daily SET successes = 99 WHERE job_name = ${name}`);
    await ctx.db.execute(sql`SELECT crondeck_stats_rebuild()`);
    await expectRollupExact(ctx.db, name);
    await ctx.db.execute(sql`TRUNCATE cron_job_logs`);
    expect((await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_job_stats_hourly`))[0].n).toBe(0);
    expect((await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_job_stats_daily`))[0].n).toBe(0);
  });
});

describeOnDatabases("admin queries", (ctx) => {
  let a: JobDefinition;
  let b: JobDefinition;
  let c: JobDefinition;
  let seeded = false;

  beforeEach(async () => {
    if (seeded) return;
    seeded = true;
    a = job({ category: "reports", description: "Builds the nightly report" });
    b = job({ category: "cleanup", description: "Deletes old things", enabled: false });
    c = job({ category: "reports", description: "Sends mail" });
    // a: 3 completed (100, 200, 300 ms), 1 failed (1000 ms) in the last day, one older than 30 days (not counted), a skip as its latest row.
    for (const [status, ago, durationMs] of [
      ["completed", "5 hours", 100],
      ["completed", "4 hours", 200],
      ["failed", "3 hours", 1000],
      ["completed", "2 hours", 300],
      ["completed", "40 days", 50],
    ] as const) {
      await insertRun(ctx.db, { job: a.name, status, ago, durationMs, error: status === "failed" ? "boom" : null });
    }
    await insertRun(ctx.db, { job: a.name, status: "skipped", ago: "1 hour", durationMs: 0, skipReason: "paused" });
    // b: one timed-out run and one running now.
    await insertRun(ctx.db, { job: b.name, status: "timed_out", ago: "3 days", durationMs: 5000, error: "timed out after 5s" });
    await insertRun(ctx.db, { job: b.name, status: "started", ago: "30 seconds" });
    // c: nothing yet.
  });

  it("jobsOverview: state, stats over 30 days from the rollup, latest run, running", async () => {
    const overview = await jobsOverview(ctx.db, [a, b, c]);
    // Attention first: b's latest slot timed out; then by name.
    expect(overview.map((o) => o.name)).toEqual([b.name, a.name, c.name]);
    expect((await jobsOverview(ctx.db, [a, b, c], { sort: "name" })).map((o) => o.name)).toEqual([a.name, b.name, c.name].sort());
    const oa = overview.find((o) => o.name === a.name)!;
    expect(oa).toMatchObject({ category: "reports", state: "enabled", enabled: true, paused: false, consecutiveFailures: 0, running: { count: 0, since: null, stale: 0 } });
    expect(oa.stats).toMatchObject({ runs: 4, successes: 3, failures: 1, missed: 0, successRate: 75, avgDurationMs: 400 });
    // p95 of 100, 200, 300, 1000 (nearest rank: 1000) from the histogram: within 9%.
    expect(Math.abs(oa.stats.p95DurationMs! - 1000) / 1000).toBeLessThan(0.0906);
    // The skip after it does not hide the latest run; it is shown beside it.
    expect(oa.lastRun).toMatchObject({ status: "completed" });
    expect(oa.lastSkip).toMatchObject({ reason: "paused" });
    expect(oa).toMatchObject({ failing: false, lastOutcome: { status: "completed", runId: oa.lastRun!.id }, pendingDeadLetters: 0, notScheduled: null });
    const ob = overview.find((o) => o.name === b.name)!;
    expect(ob).toMatchObject({ state: "disabled", enabled: false, enabledByDefault: false, running: { count: 1, stale: 0 } });
    // Running now, but its latest settled slot timed out; disabled, so no next run, and why.
    expect(ob).toMatchObject({ failing: true, lastOutcome: { status: "timed_out" }, nextRunAt: null, notScheduled: "disabled", lastSkip: null });
    expect(ob.stats).toMatchObject({ runs: 1, successes: 0, failures: 1, timedOut: 1, successRate: 0, avgDurationMs: 5000 });
    expect(ob.lastRun?.status).toBe("started");
    const oc = overview.find((o) => o.name === c.name)!;
    expect(oc.stats).toMatchObject({ runs: 0, successRate: null, avgDurationMs: null, p95DurationMs: null });
    expect(oc.lastRun).toBeNull();
    expect(new Date(oc.nextRunAt!).getTime()).toBeGreaterThan(Date.now());

    expect(summarize(overview)).toEqual({
      totalJobs: 3,
      enabledJobs: 2,
      disabledJobs: 1,
      pausedJobs: 0,
      deadLetteredJobs: 0,
      failingJobs: 1,
      runningJobs: 1,
      staleRuns: 0,
      pendingDeadLetters: 0,
      totalExecutions: 5,
      totalFailures: 2,
      overallSuccessRate: 60,
    });
  });

  it("jobsDashboard: the filtered jobs, the summary over all of them, what runs now", async () => {
    const filtered = await jobsDashboard(ctx.db, [a, b, c], { category: "cleanup" });
    expect(filtered.jobs.map((j) => j.name)).toEqual([b.name]);
    expect(filtered).toMatchObject({ filtered: true, everyJobPaused: false, categories: { reports: 2, cleanup: 1 } });
    expect(filtered.summary).toMatchObject({ totalJobs: 3, runningJobs: filtered.runningJobs.length });
    expect(filtered.runningJobs.map((r) => r.jobName)).toContain(b.name);
    const all = await jobsDashboard(ctx.db, [a, b, c]);
    expect(all).toMatchObject({ filtered: false, summary: filtered.summary });
    expect(all.jobs).toHaveLength(3);
  });

  it("jobsOverview: sorts and filters from allow-lists only", async () => {
    const byFailures = await jobsOverview(ctx.db, [a, b, c], { sort: "successRate", order: "asc" });
    expect(byFailures.map((o) => o.name)).toEqual([b.name, a.name, c.name]); // 0%, 75%, no runs (NULLS LAST)
    expect((await jobsOverview(ctx.db, [a, b, c], { category: "reports" })).map((o) => o.name).sort()).toEqual([a.name, c.name].sort());
    expect((await jobsOverview(ctx.db, [a, b, c], { search: "MAIL" })).map((o) => o.name)).toEqual([c.name]);
    expect((await jobsOverview(ctx.db, [a, b, c], { search: "%" })).map((o) => o.name)).toEqual([]);
    expect((await jobsOverview(ctx.db, [a, b, c], { state: "running" })).map((o) => o.name)).toEqual([b.name]);

    for (const bad of ["name; DROP TABLE cron_job_logs", "started_at", "", "constructor", "__proto__"]) {
      const error = await jobsOverview(ctx.db, [a], { sort: bad }).catch((e) => e);
      expect(error).toBeInstanceOf(OperationError);
      expect(error).toMatchObject({ kind: "invalid", code: "invalid_sort", field: "sort" });
    }
    await expect(jobsOverview(ctx.db, [a], { state: "1=1" })).rejects.toMatchObject({ code: "invalid_sort", field: "state" });
    await expect(jobHistory(ctx.db, a.name, { sort: "duration_ms DESC" })).rejects.toMatchObject({ code: "invalid_sort", field: "sort" });
    await expect(jobHistory(ctx.db, a.name, { status: "done" })).rejects.toMatchObject({ kind: "invalid", code: "invalid_filter", field: "status" });
    await expect(jobHistory(ctx.db, a.name, { trigger: "cron" })).rejects.toMatchObject({ kind: "invalid", code: "invalid_filter", field: "trigger" });
  });

  it("jobHistory: runs newest first, stats, hourly and daily timelines", async () => {
    const h = await jobHistory(ctx.db, a.name, { limit: 3, days: 30 });
    expect(h.history.map((r) => r.status)).toEqual(["skipped", "completed", "failed"]);
    expect(h.history[2]).toMatchObject({ error: "boom", durationMs: 1000, trigger: "schedule" });
    expect(h.stats).toMatchObject({ totalRuns: 4, successfulRuns: 3, failedRuns: 1, skippedRuns: 1, successRate: 75, avgDuration: 400, lastRun: { status: "skipped" } });
    expect(h.granularity).toBe("day");
    expect(h.timeline).toHaveLength(30);
    expect(h.timeline.reduce((n, t) => n + t.executions, 0)).toBe(4);

    const day = await jobHistory(ctx.db, a.name, { days: 1 });
    expect(day.granularity).toBe("hour");
    expect(day.timeline).toHaveLength(24);
    const [{ bucket }] = await queryRows<{ bucket: Date }>(ctx.db, sql`SELECT date_trunc('hour', now() - interval '3 hours', 'UTC') AS bucket`);
    const failedHour = day.timeline.find((t) => t.time_bucket === new Date(bucket).toISOString())!;
    expect(failedHour).toMatchObject({ executions: 1, successes: 0, failures: 1, avg_duration_ms: 1000 });
    // Oldest first, one hour apart.
    expect(Date.parse(day.timeline[1].time_bucket) - Date.parse(day.timeline[0].time_bucket)).toBe(3_600_000);
    // Filters.
    expect((await jobHistory(ctx.db, a.name, { status: "failed" })).history).toHaveLength(1);
    expect((await jobHistory(ctx.db, a.name, { days: 60 })).history).toHaveLength(6);
  });

  it("getRun: every column; null for an unknown id", async () => {
    const id = await insertRun(ctx.db, { job: c.name, status: "failed", ago: "1 minute", durationMs: 12, error: "bad" });
    await ctx.db.execute(
      sql`UPDATE cron_job_logs SET error_stack = 'Error: bad\n    at x', log_lines = '[{"at":"2026-01-01T00:00:00.000Z","message":"hello"}]',
            attempt_details = '[{"attempt":1,"startedAt":"2026-01-01T00:00:00.000Z","durationMs":12,"error":"bad"}]', output = '{"n":1}'
          WHERE id = ${id}::uuid`,
    );
    const run = await getRun(ctx.db, id);
    expect(run).toMatchObject({ id, jobName: c.name, status: "failed", error: "bad", errorStack: "Error: bad\n    at x", output: { n: 1 }, replays: [], deadLetter: null });
    expect(run!.logLines).toEqual([{ at: "2026-01-01T00:00:00.000Z", message: "hello" }]);
    expect(run!.attemptDetails[0]).toMatchObject({ attempt: 1, durationMs: 12, error: "bad" });
    expect(await getRun(ctx.db, "00000000-0000-4000-8000-000000000000")).toBeNull();
    await ctx.db.execute(sql`DELETE FROM cron_job_logs WHERE id = ${id}::uuid`);
  });

  it("toggle, pause and resume change the state the overview shows", async () => {
    await setJobEnabled(ctx.db, admin, { jobName: b.name, enabled: true });
    expect((await jobState(ctx.db, b.name, false)).state).toBe("enabled");
    expect(await pauseJobs(ctx.db, admin, { jobNames: [a.name, b.name], paused: true, note: "maintenance" })).toEqual([a.name, b.name].sort());
    expect(await pauseJob(ctx.db, admin, { jobName: a.name, enabledByDefault: true, paused: true, note: null })).toMatchObject({ changed: false }); // already paused
    const state = await jobState(ctx.db, a.name, true);
    expect(state).toMatchObject({ state: "paused", paused: true, pausedReason: "maintenance", lastModifiedBy: "admin" });
    expect(state.pausedAt).not.toBeNull();
    expect(await pauseJobs(ctx.db, admin, { jobNames: [a.name, b.name, c.name], paused: false, note: null })).toEqual([a.name, b.name].sort());
    expect((await jobState(ctx.db, a.name, true))).toMatchObject({ state: "enabled", pausedReason: null, pausedAt: null });
    await setJobEnabled(ctx.db, admin, { jobName: b.name, enabled: false });
  });

  it("locks and clearLease: stale leases clear, live ones need force, the run is abandoned by the actor", async () => {
    const runId = await insertRun(ctx.db, { job: c.name, status: "started", ago: "10 minutes" });
    await ctx.db.execute(
      sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at)
          VALUES (${c.name}, ${runId}::uuid, 7, 'dead-host:1', now() - interval '10 minutes', now() - interval '2 minutes')`,
    );
    const [lock] = (await locks(ctx.db)).filter((l) => l.jobName === c.name);
    expect(lock).toMatchObject({ runId, holder: "dead-host:1", stale: true, run: { status: "started" } });
    expect(lock.expiresInSeconds).toBeLessThanOrEqual(-119);
    // The lease's holder, when the run row names none.
    expect((await runningJobs(ctx.db)).find((r) => r.runId === runId)).toMatchObject({ stale: true, holder: "dead-host:1" });

    expect(await clearLease(ctx.db, admin, { lease: { jobName: c.name }, force: false })).toMatchObject({ cleared: true, runId, wasStale: true, runAbandoned: true });
    const [row] = await queryRows<{ status: string; error_message: string }>(ctx.db, sql`SELECT status, error_message FROM cron_job_logs WHERE id = ${runId}::uuid`);
    expect(row.status).toBe("abandoned");
    expect(row.error_message).toMatch(/^cleared by admin: the lease of holder dead-host:1/);
    expect(await clearLease(ctx.db, admin, { lease: { jobName: c.name }, force: false })).toEqual({ cleared: false, reason: "not_found" });

    const liveRun = await insertRun(ctx.db, { job: c.name, status: "started" });
    await ctx.db.execute(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, expires_at) VALUES (${c.name}, ${liveRun}::uuid, 8, 'live-host:1', now() + interval '1 minute')`);
    expect(await clearLease(ctx.db, admin, { lease: { jobName: c.name }, force: false })).toMatchObject({ cleared: false, reason: "live", holder: "live-host:1" });
    expect(await clearLease(ctx.db, apiToken, { lease: { jobName: c.name }, force: true })).toMatchObject({ cleared: true, runId: liveRun, wasStale: false, runAbandoned: true });
    expect((await locks(ctx.db)).filter((l) => l.jobName === c.name)).toEqual([]);
    await ctx.db.execute(sql`DELETE FROM cron_job_logs WHERE id IN (${runId}::uuid, ${liveRun}::uuid)`);
  });

  it("jobDetail: the code's default without a config row, the lease held now, the latest run in the API's run shape", async () => {
    const d = job({ enabled: false });
    expect(await jobDetail(ctx.db, d.name, d.enabled)).toEqual({
      enabled: false,
      paused: false,
      pausedReason: null,
      pausedAt: null,
      consecutiveFailures: 0,
      deadLettered: false,
      deadLetterReason: null,
      deadLetteredSince: null,
      state: "disabled",
      snoozedUntil: null,
      snoozeReason: null,
      snoozedBy: null,
      skipSlots: [],
      skipRequestedBy: null,
      running: null,
      lastRun: null,
      openMonitors: [],
    });
    await insertRun(ctx.db, { job: d.name, status: "failed", ago: "2 minutes", durationMs: 40, error: "nope" });
    const runId = await insertRun(ctx.db, { job: d.name, status: "started", ago: "10 seconds", trigger: "manual" });
    await ctx.db.execute(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, expires_at) VALUES (${d.name}, ${runId}::uuid, 9, 'host:2', now() + interval '1 minute')`);
    await pauseJob(ctx.db, admin, { jobName: d.name, enabledByDefault: d.enabled, paused: true, note: "checking" });
    const detail = await jobDetail(ctx.db, d.name, d.enabled);
    expect(detail).toMatchObject({ enabled: false, paused: true, pausedReason: "checking", running: { runId, holder: "host:2" } });
    expect(detail.running!.leaseExpiresAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(detail.lastRun).toMatchObject({ id: runId, status: "started", trigger: "manual", skipReason: null, completedAt: null, error: null });
    expect(detail.lastRun!.startedAt).toMatch(/Z$/);
    await ctx.db.execute(sql`DELETE FROM cron_job_leases WHERE job_name = ${d.name}`);
  });

  it("writeAudit and listAudit: the actor's name, channel and address on every row", async () => {
    const before = (await listAudit(ctx.db, { limit: 1, offset: 0, action: "job.pause" })).total;
    await writeAudit(ctx.db, admin, "job.pause", a.name, { note: "x" });
    await writeAudit(ctx.db, apiToken, "lock.clear", c.name);
    const all = await listAudit(ctx.db, { limit: 10, offset: 0 });
    expect(all.entries[0]).toMatchObject({ actor: "api-token", action: "lock.clear", target: c.name, detail: { via: "bearer" }, ipAddress: null });
    expect(all.entries[1]).toMatchObject({ actor: "admin", action: "job.pause", detail: { note: "x", via: "cookie" }, ipAddress: "203.0.113.9" });
    expect(await listAudit(ctx.db, { limit: 10, offset: 0, action: "job.pause" })).toMatchObject({ total: before + 1 });
  });
});

describeOnDatabases("admin statistics", (ctx) => {
  it("counts by status per job and overall over 24 hours, with lock figures", async () => {
    const x = uniqueName("stat");
    const y = uniqueName("stat");
    const rows: Row[] = [
      { job: x, status: "completed", ago: "1 hour", durationMs: 10 },
      { job: x, status: "completed", ago: "2 hours", durationMs: 10 },
      { job: x, status: "failed", ago: "3 hours", durationMs: 10 },
      { job: x, status: "skipped", ago: "3 hours", skipReason: "already_running", durationMs: 0 },
      { job: x, status: "skipped", ago: "4 hours", skipReason: "duplicate", durationMs: 0 },
      { job: x, status: "skipped", ago: "4 hours", skipReason: "paused", durationMs: 0 },
      { job: x, status: "completed", ago: "30 hours", durationMs: 10 }, // outside the window
      { job: y, status: "abandoned", ago: "5 hours", durationMs: 60_000 },
      { job: y, status: "timed_out", ago: "6 hours", durationMs: 5_000 },
      { job: y, status: "started", ago: "1 minute" },
      { job: y, status: "missed", ago: "7 hours", durationMs: 0 },
    ];
    for (const r of rows) await insertRun(ctx.db, r);
    await ctx.db.execute(
      sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, recovery_status) VALUES
          (gen_random_uuid(), ${x}, 'a', 'pending'), (gen_random_uuid(), ${x}, 'b', 'pending'), (gen_random_uuid(), ${y}, 'c', 'replayed')`,
    );
    const s = await statistics(ctx.db);
    expect(s.windowHours).toBe(24);
    expect(s.jobs.find((j) => j.jobName === x)).toMatchObject({ total: 6, completed: 2, failed: 1, skipped: 3, successRate: 66.67 });
    expect(s.jobs.find((j) => j.jobName === y)).toMatchObject({ total: 4, abandoned: 1, timedOut: 1, running: 1, missed: 1, successRate: 0 });
    expect(s.overall).toMatchObject({ total: 10, completed: 2, failed: 1, timedOut: 1, abandoned: 1, skipped: 3, missed: 1, running: 1, successRate: 40 });
    expect(s.deadLetters).toEqual({ pending: 2, replayed: 1, resolved: 0, permanentlyFailed: 0 });
    // acquired: 2 completed + 1 failed + 1 abandoned + 1 timed out + 1 started; missed: already_running + duplicate.
    expect(s.locks).toMatchObject({ acquired: 6, missed: 2, contentionRate: 25, leasesExpired: 1, held: 0, stale: 0 });

    // Rows by status over every job (this suite's database holds only these); x's run 30 hours ago is outside 8 hours.
    expect(await runsPerStatus(ctx.db, { minutes: 8 * 60 })).toEqual([
      { status: "abandoned", count: 1 },
      { status: "completed", count: 2 },
      { status: "failed", count: 1 },
      { status: "missed", count: 1 },
      { status: "skipped", count: 3 },
      { status: "started", count: 1 },
      { status: "timed_out", count: 1 },
    ]);
    expect(await runsPerStatus(ctx.db, { minutes: 30 })).toEqual([{ status: "started", count: 1 }]);
  });
});
