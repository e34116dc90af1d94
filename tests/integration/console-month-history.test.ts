import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { jobsDashboard } from "@/lib/app/jobs";
import { queryRows } from "@/lib/db/client";
import { describeOnDatabases } from "../support/db";
import { CONSOLE_DEFINITIONS, CONSOLE_JOBS, MONTH_SCENARIO, seedMonthOfRuns } from "../support/month-history";

const NOW = new Date("2026-11-18T09:30:00Z");

describeOnDatabases("the month of history for the console", (ctx) => {
  it("seeds a realistic, deterministic month with its scenarios", async () => {
    const first = await seedMonthOfRuns(ctx.db, { now: NOW });
    expect(first.rows).toBeGreaterThan(9_000);
    const mix = await queryRows<{ status: string; n: string | number }>(ctx.db, sql`SELECT status, count(*) AS n FROM cron_job_logs GROUP BY status`);
    const by = Object.fromEntries(mix.map((r) => [r.status, Number(r.n)]));
    expect(by.completed / first.rows).toBeGreaterThan(0.9);
    for (const status of ["failed", "timed_out", "abandoned", "missed", "skipped", "started"]) expect(by[status], status).toBeGreaterThan(0);

    // The nightly's latest slot failed, and the duplicate skip of the same slot came after it.
    const [nightly] = await queryRows<{ status: string; scheduled_for: unknown }>(ctx.db, sql`SELECT status, scheduled_for FROM cron_job_logs WHERE id = ${first.failedNightlyRunId}::uuid`);
    expect(nightly.status).toBe("failed");
    const [dup] = await queryRows<{ skip_reason: string; later: boolean }>(
      ctx.db,
      sql`SELECT d.skip_reason, d.started_at > r.started_at AS later FROM cron_job_logs d, cron_job_logs r WHERE d.id = ${first.duplicateSkipId}::uuid AND r.id = ${first.failedNightlyRunId}::uuid AND d.scheduled_for = r.scheduled_for`,
    );
    expect(dup).toEqual({ skip_reason: "duplicate", later: true });

    const [stale] = await queryRows<{ status: string; holder: string; expired: boolean }>(
      ctx.db,
      sql`SELECT l.status, k.holder, k.expires_at < ${NOW.toISOString()}::timestamptz AS expired FROM cron_job_logs l JOIN cron_job_leases k ON k.run_id = l.id WHERE l.id = ${first.staleRunId}::uuid`,
    );
    expect(stale).toEqual({ status: "started", holder: MONTH_SCENARIO.staleRun.holder, expired: true });
    expect(first.pendingDeadLetters["console-dead"]).toBe(3);
    expect(first.pendingDeadLetters["console-nightly"]).toBe(1);

    // The slots are the schedule's (02:00 in Paris on both sides of a DST change), each run keyed as the engine keys its slot.
    const [slots] = await queryRows<{ off_time: string | number; off_key: string | number }>(
      ctx.db,
      sql`SELECT count(*) FILTER (WHERE to_char(scheduled_for AT TIME ZONE 'Europe/Paris', 'HH24:MI') <> '02:00') AS off_time,
                 count(*) FILTER (WHERE status <> 'missed' AND dedupe_key <> 'slot:' || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS off_key
          FROM cron_job_logs WHERE job_name = 'console-nightly' AND status <> 'skipped'`,
    );
    expect({ offTime: Number(slots.off_time), offKey: Number(slots.off_key) }).toEqual({ offTime: 0, offKey: 0 });

    // The rollups were rebuilt: they hold the month.
    const [{ n }] = await queryRows<{ n: string | number }>(ctx.db, sql`SELECT sum(successes + failures + missed) AS n FROM cron_job_stats_daily WHERE job_name LIKE 'console-%'`);
    expect(Number(n)).toBe(by.completed + by.failed + by.timed_out + by.abandoned + by.missed);

    // Deterministic: a second seed at the same instant writes the same month.
    const second = await seedMonthOfRuns(ctx.db, { now: NOW });
    expect(second.rows).toBe(first.rows);
    expect(second.pendingDeadLetters).toEqual(first.pendingDeadLetters);
  }, 60_000);

  it("the overview over the month: last night's failure is not hidden, the dead run is stale, paused jobs say why they will not run", async () => {
    const now = new Date();
    const month = await seedMonthOfRuns(ctx.db, { now });
    const defs = CONSOLE_JOBS.map((name) => CONSOLE_DEFINITIONS[name]);
    const { jobs, summary } = await jobsDashboard(ctx.db, defs, { now });
    const by = new Map(jobs.map((j) => [j.name, j]));

    const nightly = by.get(MONTH_SCENARIO.failedNightly.job)!;
    // Its 30-day rate is high, yet its latest slot failed and a duplicate delivery came after it.
    expect(nightly.stats.successRate!).toBeGreaterThan(80);
    expect(nightly).toMatchObject({ failing: true, lastRun: { id: month.failedNightlyRunId, status: "failed" }, lastSkip: { runId: month.duplicateSkipId, reason: "duplicate" } });
    expect(nightly.pendingDeadLetters).toBe(month.pendingDeadLetters["console-nightly"]);

    const exporter = by.get(MONTH_SCENARIO.staleRun.job)!;
    expect(exporter.running).toMatchObject({ count: 0, stale: 1, staleHolder: MONTH_SCENARIO.staleRun.holder });

    const paused = by.get(MONTH_SCENARIO.paused.job)!;
    expect(paused).toMatchObject({ state: "paused", nextRunAt: null, notScheduled: "paused", pausedReason: MONTH_SCENARIO.paused.reason, lastModifiedBy: MONTH_SCENARIO.paused.by });
    const dead = by.get(MONTH_SCENARIO.deadLettered.job)!;
    expect(dead).toMatchObject({ state: "dead_lettered", nextRunAt: null, notScheduled: "dead_lettered", pendingDeadLetters: MONTH_SCENARIO.deadLettered.failures });

    // Attention first: dead-lettered, then failing, then a stale run, then pending dead letters.
    const rank = (j: (typeof jobs)[number]) => (j.deadLettered ? 0 : j.failing ? 1 : j.running.stale > 0 ? 2 : j.pendingDeadLetters > 0 ? 3 : 4);
    expect(jobs[0].name).toBe(MONTH_SCENARIO.deadLettered.job);
    expect(rank(nightly)).toBe(1);
    expect(jobs.map(rank)).toEqual(jobs.map(rank).sort((a, b) => a - b));

    expect(summary).toMatchObject({ totalJobs: 6, pausedJobs: 1, deadLetteredJobs: 1, disabledJobs: 0, staleRuns: expect.any(Number) });
    expect(summary.failingJobs).toBe(jobs.filter((j) => j.failing).length);
    expect(summary.failingJobs).toBeGreaterThanOrEqual(2);
    expect(summary.pendingDeadLetters).toBeGreaterThanOrEqual(month.pendingTotal);
  }, 60_000);
});
