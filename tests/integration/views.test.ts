import { sql, type SQL } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { queryRows, type Db } from "@/lib/db/client";
import { describeOnDatabases } from "../support/db";

const FINISHED = new Set(["completed", "failed", "timed_out", "abandoned"]);

interface LogInput {
  job: string;
  status: string;
  /** How long ago the run started, as a Postgres interval ("2 days"). */
  ago?: string;
  /** Or an explicit start time as SQL. */
  at?: SQL;
  durationMs?: number | null;
  error?: string | null;
  attempts?: number;
  trigger?: string;
  holder?: string | null;
  /** Lease expiry relative to now, as a Postgres interval ("1 minute", "-1 hour"). */
  leaseIn?: string | null;
}

interface Inserted {
  id: string;
  started_at: Date;
  completed_at: Date | null;
  scheduled_for: Date | null;
}

async function insertLog(db: Db, r: LogInput): Promise<Inserted> {
  const startedAt = r.at ?? sql`now() - ${r.ago ?? "0 seconds"}::interval`;
  const finished = FINISHED.has(r.status);
  const duration = r.durationMs ?? null;
  const [row] = await queryRows<Inserted>(
    db,
    sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, error_message, attempts, trigger, scheduled_for, holder, lease_expires_at)
        SELECT ${r.job}, ${r.status}, s.t,
               CASE WHEN ${finished}::boolean THEN s.t + coalesce(${duration}::int, 0) * interval '1 millisecond' END,
               ${duration}::int, ${r.error ?? null}::text, ${r.attempts ?? 1}::int, ${r.trigger ?? "schedule"}::text,
               date_trunc('minute', s.t), ${r.holder ?? null}::text,
               CASE WHEN ${r.leaseIn ?? null}::interval IS NULL THEN NULL ELSE now() + ${r.leaseIn ?? null}::interval END
        FROM (SELECT ${startedAt} AS t) s
        RETURNING id, started_at, completed_at, scheduled_for`,
  );
  return row;
}

async function insertLogs(db: Db, rows: LogInput[]): Promise<Inserted[]> {
  const out: Inserted[] = [];
  for (const r of rows) out.push(await insertLog(db, r));
  return out;
}

/** The database's own error (drizzle wraps it in a "Failed query" error). */
async function dbError(promise: Promise<unknown>): Promise<{ message: string; code?: string }> {
  try {
    await promise;
  } catch (error) {
    let e = error as { message: string; code?: string; cause?: unknown };
    while (e.cause && typeof e.cause === "object") e = e.cause as typeof e;
    return { message: e.message, code: e.code };
  }
  throw new Error("expected the query to fail");
}

/** Milliseconds since the epoch (node-postgres through drizzle returns timestamps as strings, PGlite as Dates). */
const time = (d: Date | string | null | undefined): number | null => {
  if (d == null) return null;
  const ms = new Date(d).getTime();
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${String(d)}`);
  return ms;
};

describeOnDatabases("views and functions", (ctx) => {
  afterEach(async () => {
    await ctx.db.execute(sql`DELETE FROM cron_dead_letters`);
    await ctx.db.execute(sql`DELETE FROM cron_job_logs`);
    await ctx.db.execute(sql`DELETE FROM cron_job_config`);
  });

  /**
   * Job "alpha" in the last 30 days: 3 completed (100, 300, 250 ms), failed (50) and
   * timed_out (900, 10 days ago); plus a completed run 40 days ago, and newer skipped,
   * missed and started rows that are not runs for counting.
   */
  async function seedAlpha(job = "alpha") {
    const [running, missed, skipped, completed1h, completed2d, failed3d, completed4d, timedOut10d, completed40d] = await insertLogs(ctx.db, [
      { job, status: "started", ago: "5 minutes", holder: "host:1", leaseIn: "1 minute" },
      { job, status: "missed", ago: "20 minutes" },
      { job, status: "skipped", ago: "30 minutes" },
      { job, status: "completed", ago: "1 hour", durationMs: 100 },
      { job, status: "completed", ago: "2 days", durationMs: 300 },
      { job, status: "failed", ago: "3 days", durationMs: 50, error: "boom" },
      { job, status: "completed", ago: "4 days", durationMs: 250 },
      { job, status: "timed_out", ago: "10 days", durationMs: 900, error: "timed out" },
      { job, status: "completed", ago: "40 days", durationMs: 10_000 },
    ]);
    return { running, missed, skipped, completed1h, completed2d, failed3d, completed4d, timedOut10d, completed40d };
  }

  it("recent_cron_executions: every column of the last 7 days, newest first", async () => {
    const a = await insertLogs(ctx.db, [
      { job: "recent-a", status: "completed", ago: "1 hour", durationMs: 10 },
      { job: "recent-a", status: "skipped", ago: "2 days" },
      { job: "recent-a", status: "failed", ago: "6 days 23 hours", durationMs: 5 },
      { job: "recent-a", status: "completed", ago: "7 days 1 hour", durationMs: 5 },
      { job: "recent-a", status: "completed", ago: "40 days", durationMs: 5 },
    ]);
    const [b] = await insertLogs(ctx.db, [{ job: "recent-b", status: "started", ago: "3 hours" }]);

    const rows = await queryRows<{ id: string; job_name: string; status: string; started_at: Date }>(ctx.db, sql`SELECT * FROM recent_cron_executions`);
    expect(rows.map((r) => r.id)).toEqual([a[0].id, b.id, a[1].id, a[2].id]);
    expect(rows.map((r) => r.status)).toEqual(["completed", "started", "skipped", "failed"]);
    expect(time(rows[0].started_at)).toBe(time(a[0].started_at));

    const viewColumns = await queryRows<{ column_name: string }>(
      ctx.db,
      sql`SELECT column_name FROM information_schema.columns WHERE table_name = 'recent_cron_executions' ORDER BY ordinal_position`,
    );
    const tableColumns = await queryRows<{ column_name: string }>(
      ctx.db,
      sql`SELECT column_name FROM information_schema.columns WHERE table_name = 'cron_job_logs' ORDER BY ordinal_position`,
    );
    expect(viewColumns.map((c) => c.column_name)).toEqual(tableColumns.map((c) => c.column_name));
    expect(viewColumns.length).toBeGreaterThan(20);
  });

  it("cron_job_success_rates: finished runs of the last 30 days per job; skipped, missed and running rows are not runs", async () => {
    const alpha = await seedAlpha();
    const beta = await insertLogs(ctx.db, [
      { job: "beta", status: "completed", ago: "1 day", durationMs: 200 },
      { job: "beta", status: "completed", ago: "2 days", durationMs: 201 },
      { job: "beta", status: "abandoned", ago: "2 days 1 hour", durationMs: null },
      { job: "beta", status: "skipped", ago: "1 hour" },
      { job: "beta", status: "missed", ago: "2 hours" },
    ]);
    // Only non-runs in the window, or runs outside it: not listed.
    await insertLogs(ctx.db, [
      { job: "gamma", status: "skipped", ago: "1 hour" },
      { job: "gamma", status: "missed", ago: "2 hours" },
      { job: "gamma", status: "started", ago: "3 minutes" },
      { job: "delta", status: "completed", ago: "31 days", durationMs: 7 },
    ]);

    const rows = await queryRows<{
      job_name: string;
      successful_runs: number;
      failed_runs: number;
      total_runs: number;
      success_rate_percentage: string | number;
      avg_duration_ms: number;
      last_run_at: Date;
    }>(ctx.db, sql`SELECT * FROM cron_job_success_rates ORDER BY job_name`);

    expect(rows.map((r) => r.job_name)).toEqual(["alpha", "beta"]);
    const [a, b] = rows;
    expect({ s: a.successful_runs, f: a.failed_runs, t: a.total_runs }).toEqual({ s: 3, f: 2, t: 5 });
    expect(typeof a.total_runs).toBe("number");
    expect(Number(a.success_rate_percentage)).toBe(60);
    expect(a.avg_duration_ms).toBe(320); // (100 + 300 + 50 + 250 + 900) / 5
    expect(typeof a.avg_duration_ms).toBe("number");
    // The running row is the latest run; the newer-than-1h skipped and missed rows are not runs.
    expect(time(a.last_run_at)).toBe(time(alpha.running.started_at));

    expect({ s: b.successful_runs, f: b.failed_runs, t: b.total_runs }).toEqual({ s: 2, f: 1, t: 3 });
    expect(Number(b.success_rate_percentage)).toBe(66.67);
    expect(b.avg_duration_ms).toBe(201); // round((200 + 201) / 2); the abandoned run has no duration
    expect(time(b.last_run_at)).toBe(time(beta[0].started_at));
  });

  it("failed_cron_jobs: failed, timed_out and abandoned runs, newest first, with their details", async () => {
    const [failed, timedOut, abandoned] = await insertLogs(ctx.db, [
      { job: "fail-a", status: "failed", ago: "1 hour", durationMs: 12, error: "boom", attempts: 3, trigger: "manual" },
      { job: "fail-b", status: "timed_out", ago: "2 hours", durationMs: 60_000, error: "timed out after 60s" },
      { job: "fail-a", status: "abandoned", ago: "40 days", error: "lease expired" },
    ]);
    await insertLogs(ctx.db, [
      { job: "fail-a", status: "completed", ago: "30 minutes", durationMs: 5 },
      { job: "fail-a", status: "skipped", ago: "10 minutes" },
      { job: "fail-a", status: "missed", ago: "11 minutes" },
      { job: "fail-a", status: "started", ago: "1 minute" },
      { job: "fail-a", status: "retry_scheduled", ago: "2 minutes" },
    ]);

    const rows = await queryRows<Record<string, unknown>>(ctx.db, sql`SELECT * FROM failed_cron_jobs`);
    expect(rows.map((r) => r.id)).toEqual([failed.id, timedOut.id, abandoned.id]);
    expect(Object.keys(rows[0]).sort()).toEqual(
      ["id", "job_name", "status", "started_at", "completed_at", "duration_ms", "error_message", "attempts", "scheduled_for", "trigger"].sort(),
    );
    const first = rows[0];
    expect(first).toMatchObject({ job_name: "fail-a", status: "failed", duration_ms: 12, error_message: "boom", attempts: 3, trigger: "manual" });
    expect(time(first.started_at as Date)).toBe(time(failed.started_at));
    expect(time(first.completed_at as Date)).toBe(time(failed.started_at)! + 12);
    expect(time(first.scheduled_for as Date)).toBe(time(failed.scheduled_for));
    expect(rows[1]).toMatchObject({ job_name: "fail-b", status: "timed_out", duration_ms: 60_000, error_message: "timed out after 60s", attempts: 1, trigger: "schedule" });
    expect(rows[2]).toMatchObject({ status: "abandoned", duration_ms: null, error_message: "lease expired" });
  });

  it("failed_cron_jobs: only the latest 100", async () => {
    await ctx.db.execute(sql`
      INSERT INTO cron_job_logs (job_name, status, started_at, duration_ms, error_message)
      SELECT 'bulk-fail', 'failed', now() - i * interval '1 second', i, 'e' || i
      FROM generate_series(1, 105) AS i`);
    const rows = await queryRows<{ duration_ms: number }>(ctx.db, sql`SELECT duration_ms FROM failed_cron_jobs`);
    expect(rows.map((r) => r.duration_ms)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it("running_cron_jobs: every started row, stale or not, oldest first, with its running time", async () => {
    const [stale, fresh] = await insertLogs(ctx.db, [
      { job: "run-a", status: "started", ago: "2 hours", holder: "host:1", leaseIn: "-1 hour 55 minutes" },
      { job: "run-b", status: "started", ago: "10 minutes", holder: "host:2", leaseIn: "5 minutes" },
      { job: "run-a", status: "completed", ago: "3 hours", durationMs: 10 },
      { job: "run-a", status: "queued", ago: "1 minute" },
      { job: "run-a", status: "retry_scheduled", ago: "1 minute" },
    ]);

    const rows = await queryRows<{
      id: string;
      job_name: string;
      started_at: Date;
      running_duration_seconds: number;
      scheduled_for: Date;
      trigger: string;
      holder: string;
      lease_expires_at: Date;
      stale: boolean;
    }>(ctx.db, sql`SELECT *, lease_expires_at < now() AS stale FROM running_cron_jobs`);

    expect(rows.map((r) => r.id)).toEqual([stale.id, fresh.id]);
    expect(Object.keys(rows[0]).sort()).toEqual(
      ["id", "job_name", "started_at", "running_duration_seconds", "scheduled_for", "trigger", "holder", "lease_expires_at", "stale"].sort(),
    );
    expect(typeof rows[0].running_duration_seconds).toBe("number");
    expect(rows[0].running_duration_seconds).toBeGreaterThanOrEqual(7200);
    expect(rows[0].running_duration_seconds).toBeLessThan(7200 + 30);
    expect(rows[1].running_duration_seconds).toBeGreaterThanOrEqual(600);
    expect(rows[1].running_duration_seconds).toBeLessThan(600 + 30);
    expect(rows.map((r) => [r.job_name, r.holder, r.trigger, r.stale])).toEqual([
      ["run-a", "host:1", "schedule", true],
      ["run-b", "host:2", "schedule", false],
    ]);
    expect(time(rows[0].started_at)).toBe(time(stale.started_at));
    expect(time(rows[1].scheduled_for)).toBe(time(fresh.scheduled_for));
  });

  it("get_cron_job_stats: counts, rate, durations and last times over the window", async () => {
    const alpha = await seedAlpha();
    await insertLogs(ctx.db, [{ job: "other", status: "failed", ago: "1 minute", durationMs: 1 }]);

    type Stats = {
      total_runs: number;
      successful_runs: number;
      failed_runs: number;
      success_rate: string | number | null;
      avg_duration_ms: number | null;
      min_duration_ms: number | null;
      max_duration_ms: number | null;
      last_run_at: Date | null;
      last_success_at: Date | null;
      last_failure_at: Date | null;
    };
    const stats = async (q: SQL) => {
      const rows = await queryRows<Stats>(ctx.db, q);
      expect(rows).toHaveLength(1);
      const r = rows[0];
      return {
        ...r,
        success_rate: r.success_rate == null ? null : Number(r.success_rate),
        last_run_at: time(r.last_run_at),
        last_success_at: time(r.last_success_at),
        last_failure_at: time(r.last_failure_at),
      };
    };

    const thirty = {
      total_runs: 5,
      successful_runs: 3,
      failed_runs: 2,
      success_rate: 60,
      avg_duration_ms: 320,
      min_duration_ms: 50,
      max_duration_ms: 900,
      last_run_at: time(alpha.running.started_at),
      // Completion times, as the seed defines them (last_run_at is the latest start).
      last_success_at: time(alpha.completed1h.completed_at),
      last_failure_at: time(alpha.failed3d.completed_at),
    };
    expect(await stats(sql`SELECT * FROM get_cron_job_stats('alpha', 30)`)).toEqual(thirty);
    expect(await stats(sql`SELECT * FROM get_cron_job_stats('alpha')`)).toEqual(thirty);

    // 7 days: the timed_out run 10 days ago drops out.
    expect(await stats(sql`SELECT * FROM get_cron_job_stats('alpha', 7)`)).toEqual({
      ...thirty,
      total_runs: 4,
      failed_runs: 1,
      success_rate: 75,
      avg_duration_ms: 175, // (100 + 300 + 50 + 250) / 4
      max_duration_ms: 300,
    });

    // 60 days: the completed run 40 days ago comes in.
    expect(await stats(sql`SELECT * FROM get_cron_job_stats('alpha', 60)`)).toEqual({
      ...thirty,
      total_runs: 6,
      successful_runs: 4,
      success_rate: 66.67,
      avg_duration_ms: 1933, // 11600 / 6
      max_duration_ms: 10_000,
    });

    const empty = {
      total_runs: 0,
      successful_runs: 0,
      failed_runs: 0,
      success_rate: null,
      avg_duration_ms: null,
      min_duration_ms: null,
      max_duration_ms: null,
      last_run_at: null,
      last_success_at: null,
      last_failure_at: null,
    };
    expect(await stats(sql`SELECT * FROM get_cron_job_stats('no-such-job', 30)`)).toEqual(empty);

    // Skipped and missed rows are not runs.
    await insertLogs(ctx.db, [
      { job: "only-skips", status: "skipped", ago: "1 hour" },
      { job: "only-skips", status: "missed", ago: "2 hours" },
    ]);
    expect(await stats(sql`SELECT * FROM get_cron_job_stats('only-skips', 30)`)).toEqual(empty);

    // A long run that started first and ended last is the latest success (and the same for
    // failures): the last success is the latest completion, not the latest start.
    const [longOk, shortOk, longFail, shortFail] = await insertLogs(ctx.db, [
      { job: "ends-late", status: "completed", ago: "3 hours", durationMs: 150 * 60_000 },
      { job: "ends-late", status: "completed", ago: "2 hours", durationMs: 1_000 },
      { job: "ends-late", status: "failed", ago: "5 hours", durationMs: 200 * 60_000 },
      { job: "ends-late", status: "abandoned", ago: "4 hours", durationMs: 60_000 },
    ]);
    const late = await stats(sql`SELECT * FROM get_cron_job_stats('ends-late', 30)`);
    expect(late.last_run_at).toBe(time(shortOk.started_at));
    expect(late.last_success_at).toBe(time(longOk.completed_at));
    expect(late.last_failure_at).toBe(time(longFail.completed_at));
    expect(late.last_success_at).toBeGreaterThan(time(shortOk.completed_at)!);
    expect(late.last_failure_at).toBeGreaterThan(time(shortFail.completed_at)!);
  });

  it("does not count a replaced run (overlap replace) as a run or a failure in any view or rollup", async () => {
    await insertLogs(ctx.db, [
      { job: "replacing", status: "completed", ago: "10 minutes", durationMs: 100 },
      { job: "replacing", status: "replaced", ago: "20 minutes", durationMs: 5_000 },
      { job: "replacing", status: "replaced", ago: "30 minutes", durationMs: 5_000 },
    ]);
    // A run that was running and then replaced: the update path of the rollup trigger too.
    await ctx.db.execute(sql`INSERT INTO cron_job_logs (job_name, status, started_at) VALUES ('replacing', 'started', now() - interval '5 minutes')`);
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'replaced', completed_at = now(), duration_ms = 300000 WHERE job_name = 'replacing' AND status = 'started'`);
    const [rate] = await queryRows<{ successful_runs: number; failed_runs: number; total_runs: number }>(
      ctx.db,
      sql`SELECT successful_runs, failed_runs, total_runs FROM cron_job_success_rates WHERE job_name = 'replacing'`,
    );
    expect(rate).toEqual({ successful_runs: 1, failed_runs: 0, total_runs: 1 });
    const [stat] = await queryRows<{ total_runs: number; failed_runs: number; last_failure_at: Date | null }>(
      ctx.db,
      sql`SELECT total_runs, failed_runs, last_failure_at FROM get_cron_job_stats('replacing', 30)`,
    );
    expect(stat).toEqual({ total_runs: 1, failed_runs: 0, last_failure_at: null });
    const [failed] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM failed_cron_jobs WHERE job_name = 'replacing'`);
    expect(failed.n).toBe(0);
    const [rollup] = await queryRows<{ successes: number; failures: number; duration_count: number }>(
      ctx.db,
      sql`SELECT sum(successes)::int AS successes, sum(failures)::int AS failures, sum(duration_count)::int AS duration_count FROM cron_job_stats_daily WHERE job_name = 'replacing'`,
    );
    expect(rollup).toEqual({ successes: 1, failures: 0, duration_count: 1 });
  });

  it("get_cron_job_timeline: hourly buckets, oldest first, empty hours as zeros", async () => {
    const [row] = await queryRows<{ h0: Date | string }>(ctx.db, sql`SELECT date_trunc('hour', now()) AS h0`);
    // node-postgres through drizzle hands timestamps back as strings, PGlite as Dates.
    const h0 = new Date(row.h0);
    const h = (hoursBack: number, minutes = 0) =>
      sql`${h0.toISOString()}::timestamptz - ${hoursBack} * interval '1 hour' + ${minutes} * interval '1 minute'`;
    await insertLogs(ctx.db, [
      // Current hour: at its very start.
      { job: "tl", status: "completed", at: h(0), durationMs: 10 },
      // One hour back: a success and a failure, a skip that does not count.
      { job: "tl", status: "completed", at: h(1, 10), durationMs: 100 },
      { job: "tl", status: "failed", at: h(1, 59), durationMs: 301 },
      { job: "tl", status: "skipped", at: h(1, 20) },
      // Two hours back: nothing for "tl" (another job's run does not count).
      { job: "tl-other", status: "completed", at: h(2, 30), durationMs: 5 },
      // Three hours back: two successes and an abandoned run without duration.
      { job: "tl", status: "completed", at: h(3, 5), durationMs: 40 },
      { job: "tl", status: "completed", at: h(3, 6), durationMs: 61 },
      { job: "tl", status: "abandoned", at: h(3, 7), durationMs: null },
      // A run still going is not an execution yet.
      { job: "tl", status: "started", at: h(3, 8) },
      // Outside the 24-hour window.
      { job: "tl", status: "completed", at: h(24, 30), durationMs: 1 },
    ]);

    type Bucket = { time_bucket: Date; executions: number; successes: number; failures: number; avg_duration_ms: number | null; h_now: Date };
    const rows = await queryRows<Bucket>(ctx.db, sql`SELECT *, date_trunc('hour', now()) AS h_now FROM get_cron_job_timeline('tl', 24)`);
    expect(rows).toHaveLength(24);
    const hNow = time(rows[0].h_now)!;
    // Consecutive hours, oldest first, ending at the current hour.
    expect(rows.map((r) => time(r.time_bucket))).toEqual(Array.from({ length: 24 }, (_, i) => hNow - (23 - i) * 3_600_000));

    // Look buckets up by time (robust if the hour turned between the inserts and the query).
    const at = (hoursBack: number) => {
      const r = rows.find((x) => time(x.time_bucket) === time(h0)! - hoursBack * 3_600_000);
      return r && { executions: r.executions, successes: r.successes, failures: r.failures, avg: r.avg_duration_ms };
    };
    expect(at(0)).toEqual({ executions: 1, successes: 1, failures: 0, avg: 10 });
    expect(at(1)).toEqual({ executions: 2, successes: 1, failures: 1, avg: 201 }); // round(401 / 2)
    expect(at(2)).toEqual({ executions: 0, successes: 0, failures: 0, avg: null });
    expect(at(3)).toEqual({ executions: 3, successes: 2, failures: 1, avg: 51 }); // round(101 / 2)
    expect(typeof rows[0].executions).toBe("number");
    const totals = rows.reduce((acc, r) => ({ e: acc.e + r.executions, s: acc.s + r.successes, f: acc.f + r.failures }), { e: 0, s: 0, f: 0 });
    expect(totals).toEqual({ e: 6, s: 4, f: 2 });

    // Default window is 24 hours; a 3-hour window has 3 buckets.
    expect(await queryRows(ctx.db, sql`SELECT * FROM get_cron_job_timeline('tl')`)).toHaveLength(24);
    const three = await queryRows<Bucket>(ctx.db, sql`SELECT * FROM get_cron_job_timeline('tl', 3)`);
    expect(three.map((r) => time(r.time_bucket))).toEqual([hNow - 2 * 3_600_000, hNow - 3_600_000, hNow]);
    expect(three.map((r) => r.executions)).toEqual([0, 2, 1]);
  });

  it("cleanup_old_cron_logs: deletes only old, finished, unprotected rows and returns the count", async () => {
    const old = await insertLogs(ctx.db, [
      { job: "clean", status: "completed", ago: "100 days", durationMs: 1 },
      { job: "clean", status: "failed", ago: "100 days", durationMs: 1 },
      { job: "clean", status: "timed_out", ago: "91 days", durationMs: 1 },
      { job: "clean", status: "abandoned", ago: "200 days" },
      { job: "clean", status: "skipped", ago: "100 days" },
      { job: "clean", status: "missed", ago: "100 days" },
      // The failed run of a dead letter that was resolved: deletable.
      { job: "clean", status: "failed", ago: "120 days", durationMs: 1 },
    ]);
    const kept = await insertLogs(ctx.db, [
      // Unfinished runs, however old.
      { job: "clean", status: "started", ago: "100 days" },
      { job: "clean", status: "queued", ago: "100 days" },
      { job: "clean", status: "retry_scheduled", ago: "100 days" },
      // The failed run of a pending dead letter.
      { job: "clean", status: "failed", ago: "150 days", durationMs: 1 },
      // Inside the window.
      { job: "clean", status: "completed", ago: "89 days", durationMs: 1 },
      { job: "clean", status: "failed", ago: "1 day", durationMs: 1 },
    ]);
    const resolvedRun = old[6];
    const pendingRun = kept[3];
    await ctx.db.execute(sql`
      INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, recovery_status)
      VALUES (${resolvedRun.id}::uuid, 'clean', 'x', 'resolved'), (${pendingRun.id}::uuid, 'clean', 'y', 'pending')`);

    const [{ deleted }] = await queryRows<{ deleted: number }>(ctx.db, sql`SELECT cleanup_old_cron_logs(90) AS deleted`);
    expect(deleted).toBe(old.length);
    const remaining = await queryRows<{ id: string }>(ctx.db, sql`SELECT id FROM cron_job_logs ORDER BY started_at`);
    expect(remaining.map((r) => r.id).sort()).toEqual(kept.map((r) => r.id).sort());
    // Dead letters themselves are left alone.
    const [{ n }] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_dead_letters`);
    expect(n).toBe(2);

    // Nothing left to delete; the default is 90 days.
    expect((await queryRows<{ d: number }>(ctx.db, sql`SELECT cleanup_old_cron_logs() AS d`))[0].d).toBe(0);
    // A shorter window takes the 89-day-old run, not the 1-day-old one.
    expect((await queryRows<{ d: number }>(ctx.db, sql`SELECT cleanup_old_cron_logs(30) AS d`))[0].d).toBe(1);

    // Once the dead letter is no longer pending, its run goes too.
    await ctx.db.execute(sql`UPDATE cron_dead_letters SET recovery_status = 'replayed' WHERE run_id = ${pendingRun.id}::uuid`);
    expect((await queryRows<{ d: number }>(ctx.db, sql`SELECT cleanup_old_cron_logs(30) AS d`))[0].d).toBe(1);
    const left = await queryRows<{ status: string }>(ctx.db, sql`SELECT status FROM cron_job_logs ORDER BY status`);
    expect(left.map((r) => r.status)).toEqual(["failed", "queued", "retry_scheduled", "started"]);
  });

  it("cleanup_old_cron_logs: deletes across several batches", async () => {
    // 2 full batches of 5000 and a partial one; an exact multiple ends with an empty batch.
    await ctx.db.execute(sql`
      INSERT INTO cron_job_logs (job_name, status, started_at, duration_ms)
      SELECT 'bulk-clean', CASE WHEN i % 2 = 0 THEN 'completed' ELSE 'skipped' END, now() - interval '100 days' - i * interval '1 second', 1
      FROM generate_series(1, 10007) AS i`);
    await ctx.db.execute(sql`
      INSERT INTO cron_job_logs (job_name, status, started_at)
      SELECT 'bulk-clean', 'started', now() - interval '100 days' FROM generate_series(1, 3)`);
    expect((await queryRows<{ d: number }>(ctx.db, sql`SELECT cleanup_old_cron_logs(90) AS d`))[0].d).toBe(10_007);

    await ctx.db.execute(sql`
      INSERT INTO cron_job_logs (job_name, status, started_at)
      SELECT 'bulk-clean', 'completed', now() - interval '100 days' - i * interval '1 second'
      FROM generate_series(1, 5000) AS i`);
    expect((await queryRows<{ d: number }>(ctx.db, sql`SELECT cleanup_old_cron_logs(90) AS d`))[0].d).toBe(5000);
    const [{ n }] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_job_logs`);
    expect(n).toBe(3);
  });

  it("cleanup_old_cron_logs: rejects a window under one day", async () => {
    await insertLogs(ctx.db, [{ job: "clean-bad", status: "completed", ago: "2 hours", durationMs: 1 }]);
    for (const days of [0, -1]) {
      const error = await dbError(queryRows(ctx.db, sql`SELECT cleanup_old_cron_logs(${days}::int)`));
      expect(error.message).toMatch(/p_days must be at least 1/);
      expect(error.code).toBe("22023");
    }
    expect((await dbError(queryRows(ctx.db, sql`SELECT cleanup_old_cron_logs(NULL::int)`))).message).toMatch(/p_days must be at least 1/);
    const [{ n }] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_job_logs`);
    expect(n).toBe(1);
  });

  it("toggle_cron_job: creates the config row, then updates it and keeps the rest", async () => {
    type Config = { job_name: string; enabled: boolean; last_modified_at: Date; last_modified_by: string | null; notes: string | null; paused: boolean; fresh: boolean };
    const config = (job: string) =>
      queryRows<Config>(
        ctx.db,
        sql`SELECT job_name, enabled, last_modified_at, last_modified_by, notes, paused, last_modified_at > now() - interval '1 minute' AND last_modified_at <= now() AS fresh
            FROM cron_job_config WHERE job_name = ${job}`,
      );

    const [{ ok }] = await queryRows<{ ok: boolean }>(ctx.db, sql`SELECT toggle_cron_job('tog', false, 'alice') AS ok`);
    expect(ok).toBe(true);
    const [created] = await config("tog");
    expect(created).toMatchObject({ job_name: "tog", enabled: false, last_modified_by: "alice", notes: null, paused: false, fresh: true });

    // An existing row: only enabled and the modification stamp change.
    await ctx.db.execute(sql`UPDATE cron_job_config SET notes = 'keep me', paused = true, last_modified_at = now() - interval '1 day' WHERE job_name = 'tog'`);
    expect((await queryRows<{ ok: boolean }>(ctx.db, sql`SELECT toggle_cron_job('tog', true) AS ok`))[0].ok).toBe(true);
    const rows = await config("tog");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ enabled: true, last_modified_by: null, notes: "keep me", paused: true, fresh: true });

    expect((await queryRows<{ ok: boolean }>(ctx.db, sql`SELECT toggle_cron_job('tog', false, 'bob') AS ok`))[0].ok).toBe(true);
    expect((await config("tog"))[0]).toMatchObject({ enabled: false, last_modified_by: "bob" });

    // Other jobs are untouched; a NULL state is refused.
    expect(await config("other")).toEqual([]);
    expect((await dbError(queryRows(ctx.db, sql`SELECT toggle_cron_job('tog', NULL::boolean)`))).message).toMatch(/p_enabled/);
    const [{ n }] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_job_config`);
    expect(n).toBe(1);
  });
});
