import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { queryRows, type Db } from "@/lib/db/client";
import { jobHistory } from "@/lib/db/queries/runs";
import { runCleanup } from "@/lib/db/maintenance";
import { retentionPolicy, runRetention, type RetentionPolicy, type RetentionReport, type RetentionTable } from "@/lib/db/retention";
import { parseEnv } from "@/lib/env";
import type { Clock } from "@/lib/cron/clock";
import { describeOnDatabases } from "../support/db";

/**
 * Retention on both databases: rows on each side of each table's cutoff, the rows that must
 * stay however old (running runs, runs behind pending dead letters, pending entries, alerts
 * inside a re-alert window or still sending), batches that commit one by one (a later batch
 * made to fail keeps the earlier ones' deletes), the time budget, and the dashboard's figures
 * after a cleanup.
 */

const DAY = 86_400_000;
const MINUTE = 60_000;
let counter = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;
const uuid = () => crypto.randomUUID();
const ago = (now: Date, ms: number) => new Date(now.getTime() - ms).toISOString();

const anyJob: JobDefinition = defineJob({ name: "retention-any", schedule: "0 * * * *", handler: () => null });
const policyOf = (env: Record<string, string> = {}, jobs = [anyJob]): RetentionPolicy => retentionPolicy(parseEnv(env), jobs);

const tableOf = (report: RetentionReport, table: RetentionTable) => {
  const found = report.tables.find((t) => t.table === table);
  if (!found) throw new Error(`no ${table} in the report`);
  return found;
};

async function insertRun(db: Db, r: { id?: string; job: string; status: string; startedAt: string; durationMs?: number | null }): Promise<string> {
  const id = r.id ?? uuid();
  await db.execute(
    sql`INSERT INTO cron_job_logs (id, job_name, status, started_at, completed_at, duration_ms)
        VALUES (${id}::uuid, ${r.job}, ${r.status}, ${r.startedAt}::timestamptz, ${r.status === "started" ? null : r.startedAt}::timestamptz, ${r.durationMs ?? null}::int)`,
  );
  return id;
}

async function insertDeadLetter(db: Db, d: { runId: string; job: string; status: string; createdAt: string; resolvedAt?: string | null; updatedAt?: string }): Promise<string> {
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, recovery_status, created_at, resolved_at, updated_at)
        VALUES (${d.runId}::uuid, ${d.job}, 'boom', ${d.status}, ${d.createdAt}::timestamptz, ${d.resolvedAt ?? null}::timestamptz, ${d.updatedAt ?? d.resolvedAt ?? d.createdAt}::timestamptz)
        RETURNING id::text`,
  );
  return row.id;
}

async function insertAlert(db: Db, a: { job: string; status: string; createdAt: string }): Promise<number> {
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO cron_alerts (job_name, kind, channel, status, message, created_at) VALUES (${a.job}, 'failure', 'slack', ${a.status}, 'x', ${a.createdAt}::timestamptz) RETURNING id::text`,
  );
  return Number(row.id);
}

async function insertAudit(db: Db, createdAt: string): Promise<number> {
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO cron_audit_log (actor, action, target, detail, created_at) VALUES ('admin', 'job.pause', 'retention-test', '{}'::jsonb, ${createdAt}::timestamptz) RETURNING id::text`,
  );
  return Number(row.id);
}

const ids = async (db: Db, query: ReturnType<typeof sql>) => (await queryRows<{ id: string }>(db, query)).map((r) => String(r.id)).sort();

/** A clock whose every reading is `stepMs` after the one before. */
function steppingClock(stepMs: number): Clock {
  let t = 1_000_000;
  return { now: () => (t += stepMs), setTimeout: () => null, clearTimeout: () => {} };
}

describeOnDatabases("retention", (ctx) => {
  beforeEach(async () => {
    // Each test starts from empty history tables, so a report's counts are its own rows.
    await ctx.db.execute(sql`TRUNCATE cron_job_logs, cron_dead_letters, cron_alerts, cron_audit_log, cron_backfills`);
    await ctx.db.execute(sql`DROP TRIGGER IF EXISTS trg_retention_refuse ON cron_job_logs`);
  });

  it("deletes only what is past each cutoff, keeping running runs, pending dead letters and their runs, and alerts the rate limiter needs", async () => {
    const now = new Date();
    const job = uniqueName("ret");
    const past = (days: number, plusMs = 0) => ago(now, days * DAY + plusMs);

    // Runs: 90 days. One minute either side of the cutoff; unfinished runs of any age stay.
    const runDue = await insertRun(ctx.db, { job, status: "completed", startedAt: past(90, MINUTE), durationMs: 5 });
    const runKept = await insertRun(ctx.db, { job, status: "completed", startedAt: past(90, -MINUTE), durationMs: 5 });
    const running = await insertRun(ctx.db, { job, status: "started", startedAt: past(400) });
    const queued = await insertRun(ctx.db, { job, status: "queued", startedAt: past(400) });
    const retrying = await insertRun(ctx.db, { job, status: "retry_scheduled", startedAt: past(400) });
    const skippedDue = await insertRun(ctx.db, { job, status: "skipped", startedAt: past(200) });
    // A run behind a pending entry stays; one behind an entry that settled long ago goes with its entry.
    const behindPending = await insertRun(ctx.db, { job, status: "failed", startedAt: past(300), durationMs: 9 });
    const behindSettled = await insertRun(ctx.db, { job, status: "failed", startedAt: past(300), durationMs: 9 });
    const behindFresh = await insertRun(ctx.db, { job, status: "failed", startedAt: past(300), durationMs: 9 });

    // Dead letters: 30 days after they settled (resolved_at, else updated_at); pending never.
    const pending = await insertDeadLetter(ctx.db, { runId: behindPending, job, status: "pending", createdAt: past(300) });
    const settledDue = await insertDeadLetter(ctx.db, { runId: behindSettled, job, status: "replayed", createdAt: past(300), resolvedAt: past(30, MINUTE) });
    // Created long ago but settled just inside the window: kept (its run is not: only pending entries hold runs).
    const settledKept = await insertDeadLetter(ctx.db, { runId: behindFresh, job, status: "permanently_failed", createdAt: past(300), resolvedAt: past(30, -MINUTE) });
    const resolvedDue = await insertDeadLetter(ctx.db, { runId: uuid(), job, status: "resolved", createdAt: past(100), resolvedAt: null, updatedAt: past(30, MINUTE) });

    // Alerts: 90 days, or the longest re-alert window when that is longer; `sending` never.
    const alertDue = await insertAlert(ctx.db, { job, status: "sent", createdAt: past(90, MINUTE) });
    const alertKept = await insertAlert(ctx.db, { job, status: "failed", createdAt: past(90, -MINUTE) });
    const alertSending = await insertAlert(ctx.db, { job, status: "sending", createdAt: past(200) });

    // Audit: 365 days.
    const auditDue = await insertAudit(ctx.db, past(365, MINUTE));
    const auditKept = await insertAudit(ctx.db, past(365, -MINUTE));

    // Backfills: with the runs (90 days) after they ended; a running one never.
    const backfill = (status: string, endedDaysAgo: number, plusMs = 0) =>
      queryRows<{ id: string }>(
        ctx.db,
        sql`INSERT INTO cron_backfills (id, job_name, range_from, range_to, overlap, slots, status, actor, created_at, updated_at, finished_at)
            VALUES (gen_random_uuid(), ${job}, ${past(400)}::timestamptz, ${past(399)}::timestamptz, 'skip', '{}', ${status}, 'test',
                    ${past(400)}::timestamptz, ${past(endedDaysAgo, plusMs)}::timestamptz, CASE WHEN ${status} = 'running' THEN NULL ELSE ${past(endedDaysAgo, plusMs)}::timestamptz END)
            RETURNING id::text AS id`,
      ).then((rows) => rows[0].id);
    const backfillDue = await backfill("completed", 90, MINUTE);
    const backfillKept = await backfill("cancelled", 90, -MINUTE);
    const backfillRunning = await backfill("running", 300);

    const report = await runRetention(ctx.db, policyOf(), { now });
    expect(report.complete).toBe(true);
    expect(report.tables.map((t) => [t.table, t.status, t.deleted, t.remaining])).toEqual([
      ["cron_dead_letters", "done", 2, 0],
      ["cron_alerts", "done", 1, 0],
      ["cron_audit_log", "done", 1, 0],
      ["cron_job_logs", "done", 4, 0],
      ["cron_backfills", "done", 1, 0],
    ]);
    expect(report.deleted).toBe(9);
    const backfillsLeft = await ids(ctx.db, sql`SELECT id::text AS id FROM cron_backfills`);
    expect(backfillsLeft).toEqual([backfillKept, backfillRunning].sort());
    expect(backfillsLeft).not.toContain(backfillDue);

    const left = {
      runs: await ids(ctx.db, sql`SELECT id::text AS id FROM cron_job_logs`),
      deadLetters: await ids(ctx.db, sql`SELECT id::text AS id FROM cron_dead_letters`),
      alerts: await ids(ctx.db, sql`SELECT id::text AS id FROM cron_alerts`),
      audit: await ids(ctx.db, sql`SELECT id::text AS id FROM cron_audit_log`),
    };
    expect(left.runs).toEqual([runKept, running, queued, retrying, behindPending].sort());
    for (const id of [runDue, skippedDue, behindSettled, behindFresh]) expect(left.runs).not.toContain(id);
    expect(left.deadLetters).toEqual([pending, settledKept].sort());
    for (const id of [settledDue, resolvedDue]) expect(left.deadLetters).not.toContain(id);
    expect(left.alerts).toEqual([alertKept, alertSending].map(String).sort());
    expect(left.alerts).not.toContain(String(alertDue));
    expect(left.audit).toEqual([String(auditKept)]);
    expect(left.audit).not.toContain(String(auditDue));

    // A second run finds nothing more.
    const again = await runRetention(ctx.db, policyOf(), { now });
    expect(again).toMatchObject({ complete: true, deleted: 0, remaining: 0 });
    expect(again.tables.map((t) => t.batches)).toEqual([1, 1, 1, 1, 1]);
  });

  it("keeps alert rows inside the longest re-alert window of any job, past CRON_ALERT_RETENTION_DAYS", async () => {
    const now = new Date();
    const job = uniqueName("ret");
    const slow = defineJob({ name: uniqueName("slow"), schedule: "0 * * * *", alerts: { reAlertAfter: "3d" }, handler: () => null });
    const inWindow = await insertAlert(ctx.db, { job, status: "sent", createdAt: ago(now, 3 * DAY - MINUTE) });
    const pastWindow = await insertAlert(ctx.db, { job, status: "sent", createdAt: ago(now, 3 * DAY + MINUTE) });
    const report = await runRetention(ctx.db, policyOf({ CRON_ALERT_RETENTION_DAYS: "1" }, [slow]), { now });
    expect(tableOf(report, "cron_alerts")).toMatchObject({ deleted: 1, remaining: 0, retentionDays: 1 });
    expect(await ids(ctx.db, sql`SELECT id::text AS id FROM cron_alerts`)).toEqual([String(inWindow)]);
    expect(pastWindow).toBeGreaterThan(inWindow);
    // Without that job, the one-day retention takes it too.
    expect(tableOf(await runRetention(ctx.db, policyOf({ CRON_ALERT_RETENTION_DAYS: "1" }), { now }), "cron_alerts").deleted).toBe(1);
  });

  it("commits each batch: a later batch that fails leaves the earlier batches' deletes in place, and the next run goes on", async () => {
    const now = new Date();
    const job = uniqueName("ret");
    const runs: string[] = [];
    // Seven old runs, oldest first; the fifth refuses to be deleted, so batches of 2 go [1,2] [3,4] then fail on [5,6].
    for (let i = 0; i < 7; i++) runs.push(await insertRun(ctx.db, { job: i === 4 ? "retention-refuse" : job, status: "completed", startedAt: ago(now, (200 - i) * DAY), durationMs: 10 }));
    const auditDue = await insertAudit(ctx.db, ago(now, 400 * DAY));
    await ctx.db.execute(sql.raw(`CREATE OR REPLACE FUNCTION retention_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF OLD.job_name = 'retention-refuse' THEN RAISE EXCEPTION 'retention test: this row refuses to go'; END IF; RETURN OLD; END $$`));
    await ctx.db.execute(sql`CREATE TRIGGER trg_retention_refuse BEFORE DELETE ON cron_job_logs FOR EACH ROW EXECUTE FUNCTION retention_refuse()`);

    const policy = { ...policyOf(), batchSize: 2 };
    const report = await runRetention(ctx.db, policy, { now });
    const logs = tableOf(report, "cron_job_logs");
    expect(logs).toMatchObject({ status: "failed", deleted: 4, batches: 2, remaining: 3 });
    expect(logs.error).toMatch(/retention test: this row refuses to go/);
    // The database's message only: not drizzle's wrapper with the statement.
    expect(logs.error).not.toMatch(/DELETE|Failed query|params/i);
    expect(report.complete).toBe(false);
    // The other tables still ran.
    expect(tableOf(report, "cron_audit_log")).toMatchObject({ status: "done", deleted: 1 });
    expect(await ids(ctx.db, sql`SELECT id::text AS id FROM cron_audit_log WHERE id = ${auditDue}`)).toEqual([]);
    // The first four are gone for good: committed before the failure.
    expect(await ids(ctx.db, sql`SELECT id::text AS id FROM cron_job_logs`)).toEqual(runs.slice(4).sort());

    await ctx.db.execute(sql`DROP TRIGGER trg_retention_refuse ON cron_job_logs`);
    const next = await runRetention(ctx.db, policy, { now });
    expect(tableOf(next, "cron_job_logs")).toMatchObject({ status: "done", deleted: 3, remaining: 0 });
    expect(await ids(ctx.db, sql`SELECT id::text AS id FROM cron_job_logs`)).toEqual([]);
  });

  it("stops at the time budget with what is left reported, and the next run finishes it", async () => {
    const now = new Date();
    const job = uniqueName("ret");
    await ctx.db.execute(
      sql`INSERT INTO cron_job_logs (job_name, status, started_at, duration_ms)
          SELECT ${job}, 'completed', ${ago(now, 100 * DAY)}::timestamptz - g * interval '1 minute', 3 FROM generate_series(1, 25) g`,
    );
    const policy = { ...policyOf(), batchSize: 4 };
    // Every clock reading is 1 s after the last, so each batch "takes" 1 s: a 12 s budget covers
    // the three small tables (one batch each) and some of the runs' batches, not all seven.
    const first = await runRetention(ctx.db, policy, { now, clock: steppingClock(1_000), budgetMs: 12_000 });
    const logs = tableOf(first, "cron_job_logs");
    expect(logs.status).toBe("stopped");
    expect(logs.deleted).toBeGreaterThan(0);
    expect(logs.deleted).toBeLessThan(25);
    expect(logs.deleted + logs.remaining).toBe(25);
    expect(first.remaining).toBe(logs.remaining);
    expect(first.complete).toBe(false);
    // The oldest went first: what is left is the newest `remaining` (g = 1 .. remaining).
    const [newest] = await queryRows<{ n: string }>(
      ctx.db,
      sql`SELECT count(*)::text AS n FROM cron_job_logs WHERE job_name = ${job} AND started_at >= ${ago(now, 100 * DAY + logs.remaining * MINUTE)}::timestamptz`,
    );
    expect(Number(newest.n)).toBe(logs.remaining);

    // An aborted signal stops before any batch.
    const aborted = await runRetention(ctx.db, policy, { now, signal: AbortSignal.abort() });
    expect(aborted.tables.every((t) => t.status === "stopped" && t.batches === 0)).toBe(true);
    expect(tableOf(aborted, "cron_job_logs").remaining).toBe(logs.remaining);

    const rest = await runRetention(ctx.db, policy, { now });
    expect(tableOf(rest, "cron_job_logs")).toMatchObject({ status: "done", deleted: logs.remaining, remaining: 0 });
  });

  it("keeps the dashboard's figures right: a job's stats after a cleanup equal those of the rows it kept", async () => {
    const now = new Date();
    const job = uniqueName("dash");
    const twin = uniqueName("twin");
    const statuses = ["completed", "failed", "timed_out", "abandoned", "missed", "completed", "skipped"];
    // Runs across hours on both sides of the 90-day cutoff, some in the same hour and day as the cutoff.
    const offsets = [200 * DAY, 95 * DAY, 90 * DAY + 3 * MINUTE, 90 * DAY + MINUTE, 90 * DAY - MINUTE, 90 * DAY - 3 * MINUTE, 89 * DAY, 10 * DAY, 2 * DAY, 3 * 3_600_000];
    let i = 0;
    for (const offset of offsets) {
      for (const status of statuses) {
        const durationMs = status === "missed" || status === "skipped" ? null : 10 + ((i * 37) % 5000);
        i++;
        const startedAt = ago(now, offset + i * 1000);
        await insertRun(ctx.db, { job, status, startedAt, durationMs });
        if (offset + i * 1000 <= 90 * DAY) await insertRun(ctx.db, { job: twin, status, startedAt, durationMs });
      }
    }
    const report = await runCleanup(ctx.db, { ...policyOf(), batchSize: 7 }, { now });
    expect(tableOf(report, "cron_job_logs").batches).toBeGreaterThan(2);

    for (const days of [1, 30, 89, 365]) {
      const [mine, theirs] = await Promise.all([jobHistory(ctx.db, job, { days }), jobHistory(ctx.db, twin, { days })]);
      const { lastRun: a, ...stats } = mine.stats;
      const { lastRun: b, ...twinStats } = theirs.stats;
      expect(stats, `${days} days`).toEqual(twinStats);
      expect(a?.startedAt).toBe(b?.startedAt);
      expect(mine.timeline.map((t) => ({ ...t }))).toEqual(theirs.timeline.map((t) => ({ ...t })));
    }
    // The rollup rows themselves: the same buckets and values as the twin's, none left empty.
    const rollup = (name: string, table: "cron_job_stats_hourly" | "cron_job_stats_daily") =>
      queryRows(
        ctx.db,
        sql`SELECT bucket, successes, failures, timed_out, abandoned, missed, duration_sum_ms::text AS sum, duration_count,
                   (SELECT coalesce(json_object_agg(array_lower(s.duration_hist, 1) + u.ord - 1, u.n ORDER BY u.ord), '{}'::json)::text
                      FROM unnest(s.duration_hist) WITH ORDINALITY u(n, ord) WHERE u.n IS NOT NULL AND u.n <> 0) AS hist
              FROM ${sql.raw(table)} s WHERE job_name = ${name} ORDER BY bucket`,
      );
    for (const table of ["cron_job_stats_hourly", "cron_job_stats_daily"] as const) {
      const [mine, theirs] = await Promise.all([rollup(job, table), rollup(twin, table)]);
      expect(mine, table).toEqual(theirs);
      expect(mine.length, table).toBeGreaterThan(0);
    }
  });
});
