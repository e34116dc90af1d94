/**
 * The overview tells the truth at a glance (issue 15, items 1-3), on PGlite and on the Postgres
 * server: a duplicate delivery or a paused slot after a failure does not hide it; a job whose
 * latest slot failed, was missed or abandoned is failing (and sorted first) until a later slot
 * succeeds; a run whose lease expired is stale, never running; pending dead letters are counted
 * per job and in the summary; a job that will not run on schedule says why instead of a time.
 */
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { jobsDashboard } from "@/lib/app/jobs";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import type { Actor } from "@/lib/cron/vocabulary";
import { queryRows, type Db } from "@/lib/db/client";
import { pauseJob } from "@/lib/db/commands/jobs";
import { skipSlot, snoozeUntil } from "@/lib/db/commands/snooze";
import { jobsOverview, type JobOverview } from "@/lib/db/queries/jobs";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

const admin: Actor = { name: "admin", via: "cookie", ip: "203.0.113.9" };
let counter = 0;
const job = (overrides: Partial<JobConfig> = {}) => defineJob({ name: `truth-${process.pid}-${++counter}`, schedule: "*/10 * * * *", handler: async () => "ok", ...overrides });
const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got ${o.kind}`);
  return o.run;
};
const one = async (db: Db, j: ReturnType<typeof job>, now?: Date): Promise<JobOverview> => (await jobsOverview(db, [j], { now }))[0];

/** A row as an earlier run left it, `ago` before now (a Postgres interval). */
async function row(db: Db, jobName: string, status: string, ago: string, extra: { lease?: string | null } = {}): Promise<string> {
  const [r] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger, lease_expires_at, holder)
        VALUES (${jobName}, ${status}, now() - ${ago}::interval,
                CASE WHEN ${status} IN ('started', 'queued', 'retry_scheduled') THEN NULL ELSE now() - ${ago}::interval END,
                CASE WHEN ${status} IN ('completed', 'failed', 'timed_out', 'abandoned') THEN 10 END, 'schedule',
                now() + ${extra.lease ?? null}::interval, 'host-a:1')
        RETURNING id`,
  );
  return r.id;
}

describeOnDatabases("the overview's truth at a glance", (ctx) => {
  const deps = (): EngineDeps => ({ runs: new PostgresRunStore(ctx.db), holder: "test-host:1", codeVersion: null, settleGraceMs: 50 });

  it("a duplicate delivery after a failure neither hides the failure nor clears it; a later success does", async () => {
    let fail = true;
    const calm = job();
    const j = job({ retries: 0, deadLetter: { replayLimit: 3, pauseAfter: 10 }, handler: async () => { if (fail) throw new Error("upstream down"); return "ok"; } });
    const slot = new Date(Math.floor(Date.now() / 600_000) * 600_000 - 600_000);
    expect(ran(await runTrigger(deps(), { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 })).status).toBe("failed");
    // Vercel may deliver a slot twice: the second is recorded as a skip, newer than the failure.
    expect(await runTrigger(deps(), { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 })).toMatchObject({ kind: "skipped", reason: "duplicate" });

    const failing = await one(ctx.db, j);
    expect(failing.lastRun).toMatchObject({ status: "failed", trigger: "schedule" });
    expect(failing.lastSkip).toMatchObject({ reason: "duplicate" });
    expect(failing).toMatchObject({ failing: true, lastOutcome: { status: "failed", runId: failing.lastRun!.id }, pendingDeadLetters: 1 });
    // Sorted first, before a calm job whose name comes first; the "failing" filter keeps it.
    const [named] = [calm, j].sort((x, y) => x.name.localeCompare(y.name));
    expect(named.name).toBe(calm.name);
    expect((await jobsOverview(ctx.db, [calm, j])).map((o) => o.name)).toEqual([j.name, calm.name]);
    expect((await jobsOverview(ctx.db, [calm, j], { state: "failing" })).map((o) => o.name)).toEqual([j.name]);
    expect((await jobsOverview(ctx.db, [calm, j], { state: "dead_letters" })).map((o) => o.name)).toEqual([j.name]);
    const dashboard = await jobsDashboard(ctx.db, [calm, j]);
    expect(dashboard.summary).toMatchObject({ totalJobs: 2, failingJobs: 1 });
    const [{ n: pendingEverywhere }] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_dead_letters WHERE recovery_status = 'pending'`);
    expect(dashboard.summary.pendingDeadLetters).toBe(pendingEverywhere);

    // The next slot succeeds: no longer failing; its dead letter is still pending (a replay or a settle clears it).
    fail = false;
    ran(await runTrigger(deps(), { job: j, trigger: "schedule", scheduledFor: new Date(slot.getTime() + 600_000), budgetMs: 60_000 }));
    expect(await one(ctx.db, j)).toMatchObject({ failing: false, lastRun: { status: "completed" }, lastSkip: null, pendingDeadLetters: 1 });
    await ctx.db.execute(sql`UPDATE cron_dead_letters SET recovery_status = 'resolved' WHERE job_name = ${j.name}`);
    expect(await one(ctx.db, j)).toMatchObject({ pendingDeadLetters: 0 });
  });

  it("a missed or abandoned latest slot is failing; a run in progress, a retry still due or a replaced run settles nothing", async () => {
    const j = job();
    await row(ctx.db, j.name, "completed", "50 minutes");
    expect(await one(ctx.db, j)).toMatchObject({ failing: false, lastOutcome: { status: "completed" } });
    await row(ctx.db, j.name, "missed", "40 minutes");
    expect(await one(ctx.db, j)).toMatchObject({ failing: true, lastOutcome: { status: "missed" }, lastRun: { status: "missed" } });
    await row(ctx.db, j.name, "completed", "30 minutes");
    await row(ctx.db, j.name, "abandoned", "20 minutes");
    expect(await one(ctx.db, j)).toMatchObject({ failing: true, lastOutcome: { status: "abandoned" } });
    await row(ctx.db, j.name, "completed", "15 minutes");
    for (const status of ["replaced", "retry_scheduled", "queued"]) await row(ctx.db, j.name, status, "10 minutes");
    await row(ctx.db, j.name, "started", "1 minute", { lease: "1 minute" });
    const o = await one(ctx.db, j);
    expect(o).toMatchObject({ failing: false, lastOutcome: { status: "completed" }, lastRun: { status: "started" } });
  });

  it("a run whose lease expired is stale, with its holder, never counted as running", async () => {
    const j = job();
    const other = job();
    const live = await row(ctx.db, j.name, "started", "30 seconds", { lease: "2 minutes" });
    expect(live).toBeTruthy();
    // A run dead for six hours: its lease row (the Postgres lease) expired long ago.
    const dead = await row(ctx.db, other.name, "started", "6 hours", { lease: "-5 hours 59 minutes" });
    await ctx.db.execute(
      sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at)
          VALUES (${other.name}, ${dead}::uuid, 3, 'dead-host:9', now() - interval '6 hours', now() - interval '5 hours 59 minutes')`,
    );
    // A Redis lease has no row: the run row's own expiry says it is stale.
    await row(ctx.db, other.name, "started", "3 hours", { lease: "-2 hours" });

    const [a, b] = await Promise.all([one(ctx.db, j), one(ctx.db, other)]);
    expect(a.running).toMatchObject({ count: 1, stale: 0, staleHolder: null, staleSince: null });
    expect(b.running).toMatchObject({ count: 0, since: null, stale: 2, staleHolder: "dead-host:9" });
    // Its last run is the newer stale one: shown as stale, not as running; the live one is not stale.
    expect(b).toMatchObject({ lastRun: { status: "started" }, lastRunStale: true });
    expect(a).toMatchObject({ lastRun: { id: live, status: "started" }, lastRunStale: false });
    expect(Date.now() - Date.parse(b.running.staleSince!)).toBeGreaterThan(5.9 * 3_600_000);
    expect((await jobsOverview(ctx.db, [j, other], { state: "stale" })).map((o) => o.name)).toEqual([other.name]);
    expect((await jobsOverview(ctx.db, [j, other], { state: "running" })).map((o) => o.name)).toEqual([j.name]);
    // Attention: the stale run's job first.
    expect((await jobsOverview(ctx.db, [j, other])).map((o) => o.name)).toEqual([other.name, j.name]);

    const dashboard = await jobsDashboard(ctx.db, [j, other]);
    const mine = dashboard.runningJobs.filter((r) => r.jobName === j.name || r.jobName === other.name);
    expect(mine.filter((r) => r.stale)).toHaveLength(2);
    expect(dashboard.summary.staleRuns).toBe(dashboard.runningJobs.filter((r) => r.stale).length);
    expect(dashboard.summary.runningJobs).toBe(dashboard.runningJobs.filter((r) => !r.stale).length);
    await ctx.db.execute(sql`DELETE FROM cron_job_logs WHERE job_name IN (${j.name}, ${other.name}) AND status = 'started'`);
    await ctx.db.execute(sql`DELETE FROM cron_job_leases WHERE job_name = ${other.name}`);
  });

  it("no next run while paused, dead-lettered or disabled (and why); a snooze or a skipped slot moves it", async () => {
    const now = new Date("2026-12-03T10:04:00Z");
    const j = job({ schedule: "*/10 * * * *" });
    expect(await one(ctx.db, j, now)).toMatchObject({ nextRunAt: "2026-12-03T10:10:00.000Z", notScheduled: null });

    await skipSlot(ctx.db, admin, { jobName: j.name, enabledByDefault: true, now, slot: new Date("2026-12-03T10:10:00Z"), note: null });
    expect(await one(ctx.db, j, now)).toMatchObject({ nextRunAt: "2026-12-03T10:20:00.000Z" });
    // Slots before a snooze's end are skipped; a slot at its end runs.
    await snoozeUntil(ctx.db, admin, { jobName: j.name, enabledByDefault: true, now, until: new Date("2026-12-03T11:00:00Z"), note: "maintenance" });
    expect(await one(ctx.db, j, now)).toMatchObject({ nextRunAt: "2026-12-03T11:00:00.000Z", notScheduled: null });

    await pauseJob(ctx.db, admin, { jobName: j.name, enabledByDefault: true, paused: true, note: "vendor outage" });
    expect(await one(ctx.db, j, now)).toMatchObject({ state: "paused", nextRunAt: null, notScheduled: "paused" });
    await ctx.db.execute(sql`UPDATE cron_job_config SET dead_lettered = true WHERE job_name = ${j.name}`);
    expect(await one(ctx.db, j, now)).toMatchObject({ state: "dead_lettered", nextRunAt: null, notScheduled: "dead_lettered" });

    const off = job({ enabled: false });
    expect(await one(ctx.db, off, now)).toMatchObject({ nextRunAt: null, notScheduled: "disabled" });
    const ended = job({ schedule: undefined, runAt: "2026-12-01T00:00:00Z" });
    expect(await one(ctx.db, ended, now)).toMatchObject({ nextRunAt: null, notScheduled: "ended" });

    // Sorted by next run, the snoozed job (11:00) comes after one due at 10:10; jobs with none go last.
    const due = job();
    await pauseJob(ctx.db, admin, { jobName: j.name, enabledByDefault: true, paused: false, note: null });
    await ctx.db.execute(sql`UPDATE cron_job_config SET dead_lettered = false WHERE job_name = ${j.name}`);
    expect((await jobsOverview(ctx.db, [off, j, due], { sort: "nextRun", now })).map((o) => o.name)).toEqual([due.name, j.name, off.name]);
  });
});
