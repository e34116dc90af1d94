import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { clearJobLease } from "@/lib/app/operations/leases";
import { markFailed, prepareReplay } from "@/lib/app/operations/dead-letters";
import { pauseOrResumeAll, pauseOrResumeJob, recoverJobNow, toggleJob } from "@/lib/app/operations/jobs";
import { cleanOldLogs } from "@/lib/app/operations/logs";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { OperationError } from "@/lib/cron/errors";
import { JobRegistry } from "@/lib/cron/registry";
import type { Actor } from "@/lib/cron/vocabulary";
import { queryRows, type Db } from "@/lib/db/client";
import { envSchema } from "@/lib/env";
import { describeOnDatabases } from "../support/db";

/**
 * The operator's operations on both databases: each change comes with its audit row (actor,
 * via, client address) in the same transaction, and a refusal is an OperationError that
 * leaves everything as it was.
 */

let counter = 0;
const uniqueName = () => `ops-${process.pid}-${++counter}`;
const job = (): JobDefinition => defineJob({ name: uniqueName(), schedule: "*/10 * * * *", handler: async () => "ok" });
const admin: Actor = { name: "admin", via: "cookie", ip: "203.0.113.5" };
const cli: Actor = { name: "cli:ops", via: "cli", ip: null };

interface AuditRow {
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
  ip_address: string | null;
}

const auditOf = (db: Db, target: string) =>
  queryRows<AuditRow>(db, sql`SELECT actor, action, target, detail, ip_address FROM cron_audit_log WHERE target = ${target} ORDER BY id`);

/** The refusal an operation threw (fails the test if it resolved). */
async function refusal(promise: Promise<unknown>): Promise<OperationError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OperationError);
  return error as OperationError;
}

describeOnDatabases("operations", (ctx) => {
  const deps = (...jobs: JobDefinition[]) => ({ db: ctx.db, registry: new JobRegistry(jobs) });

  it("pause twice keeps the first reason; resume; each with its audit row naming the channel", async () => {
    const j = job();
    const first = await pauseOrResumeJob(deps(j), admin, { job: j, paused: true, note: "vendor maintenance" });
    const second = await pauseOrResumeJob(deps(j), cli, { job: j, paused: true });
    expect(first).toMatchObject({ changed: true, state: { paused: true, pausedReason: "vendor maintenance" } });
    expect(second).toMatchObject({ changed: false, state: { paused: true, pausedReason: "vendor maintenance", pausedAt: first.state.pausedAt } });
    expect(await pauseOrResumeJob(deps(j), cli, { job: j, paused: false })).toMatchObject({ changed: true, state: { paused: false, pausedReason: null } });
    expect(await auditOf(ctx.db, j.name)).toEqual([
      { actor: "admin", action: "job.pause", target: j.name, detail: { note: "vendor maintenance", changed: true, via: "cookie" }, ip_address: "203.0.113.5" },
      { actor: "cli:ops", action: "job.pause", target: j.name, detail: { note: null, changed: false, via: "cli" }, ip_address: null },
      { actor: "cli:ops", action: "job.resume", target: j.name, detail: { note: null, changed: true, via: "cli" }, ip_address: null },
    ]);
  });

  it("pause-all names the jobs that changed in one audit row; toggle and recover write theirs", async () => {
    const [a, b] = [job(), job()];
    await pauseOrResumeJob(deps(a, b), admin, { job: a, paused: true });
    expect(await pauseOrResumeAll(deps(a, b), admin, { paused: true, note: "freeze" })).toEqual({ changed: [b.name], total: 2 });
    const [all] = await queryRows<AuditRow>(ctx.db, sql`SELECT actor, action, target, detail, ip_address FROM cron_audit_log WHERE action = 'job.pause_all' ORDER BY id DESC LIMIT 1`);
    expect(all).toEqual({ actor: "admin", action: "job.pause_all", target: null, detail: { note: "freeze", jobs: [b.name], via: "cookie" }, ip_address: "203.0.113.5" });

    await toggleJob(deps(a), cli, { job: a, enabled: false });
    expect(await recoverJobNow(deps(a), cli, { job: a })).toEqual({ wasDeadLettered: false, wasPaused: true });
    expect((await auditOf(ctx.db, a.name)).map((r) => [r.action, r.detail])).toEqual([
      ["job.pause", { note: null, changed: true, via: "cookie" }],
      ["job.disable", { enabled: false, via: "cli" }],
      ["job.recover", { wasDeadLettered: false, wasPaused: true, note: null, via: "cli" }],
    ]);
  });

  it("a live lease is refused without force and nothing changes; with force it clears and abandons the run", async () => {
    const j = job();
    const [{ id: runId }] = await queryRows<{ id: string }>(ctx.db, sql`INSERT INTO cron_job_logs (job_name, status, started_at, holder, fencing_token) VALUES (${j.name}, 'started', now() - interval '1 minute', 'live-host:1', 11) RETURNING id`);
    await ctx.db.execute(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at) VALUES (${j.name}, ${runId}::uuid, 11, 'live-host:1', now() - interval '1 minute', now() + interval '1 hour')`);

    const live = await refusal(clearJobLease(deps(j), cli, { lease: { jobName: j.name } }));
    expect(live).toMatchObject({ kind: "conflict", code: "lock_live", details: { holder: "live-host:1" } });
    expect(live.message).toContain("--force");
    const byRun = await refusal(clearJobLease(deps(j), admin, { lease: { runId } }));
    expect(byRun.code).toBe("lock_live");
    expect(await auditOf(ctx.db, j.name)).toEqual([]);
    expect(await queryRows(ctx.db, sql`SELECT status FROM cron_job_logs WHERE id = ${runId}::uuid`)).toEqual([{ status: "started" }]);

    const cleared = await clearJobLease(deps(j), cli, { lease: { runId }, force: true });
    expect(cleared).toMatchObject({ jobName: j.name, runId, holder: "live-host:1", wasStale: false, runAbandoned: true });
    const [run] = await queryRows<{ status: string; error_message: string }>(ctx.db, sql`SELECT status, error_message FROM cron_job_logs WHERE id = ${runId}::uuid`);
    expect(run.status).toBe("abandoned");
    expect(run.error_message).toMatch(/^cleared by cli:ops: the lease of holder live-host:1 \(taken .+ ago\) was still live$/);
    expect((await auditOf(ctx.db, j.name)).map((r) => r.detail)).toEqual([{ runId, holder: "live-host:1", wasStale: false, runAbandoned: true, forced: true, via: "cli" }]);

    expect(await refusal(clearJobLease(deps(j), cli, { lease: { jobName: j.name } }))).toMatchObject({ kind: "not_found", code: "lock_not_found" });
    expect(await refusal(clearJobLease(deps(), cli, { lease: { jobName: "gone-job" } }))).toMatchObject({ kind: "not_found", code: "job_not_found" });
  });

  it("by run id, a started run that holds no job lease (overlap allow) is ended by its own expiry", async () => {
    const j = job();
    const lone = async (expiresIn: string) =>
      (await queryRows<{ id: string }>(ctx.db, sql`INSERT INTO cron_job_logs (job_name, status, started_at, holder, lease_expires_at) VALUES (${j.name}, 'started', now() - interval '5 minutes', 'allow-host:1', now() + ${expiresIn}::interval) RETURNING id`))[0].id;
    const [expired, live] = [await lone("-1 minute"), await lone("1 hour")];
    expect(await clearJobLease(deps(j), cli, { lease: { runId: expired } })).toMatchObject({ jobName: j.name, runId: expired, holder: "allow-host:1", wasStale: true, runAbandoned: true });
    expect(await refusal(clearJobLease(deps(j), cli, { lease: { runId: live } }))).toMatchObject({ code: "lock_live" });
    expect(await clearJobLease(deps(j), cli, { lease: { runId: live }, force: true })).toMatchObject({ runId: live, wasStale: false, runAbandoned: true });
    const runs = await queryRows<{ status: string; error_message: string }>(ctx.db, sql`SELECT status, error_message FROM cron_job_logs WHERE job_name = ${j.name} ORDER BY started_at, id`);
    expect(runs.map((r) => r.status)).toEqual(["abandoned", "abandoned"]);
    expect(runs.map((r) => r.error_message).sort()).toEqual([
      expect.stringMatching(/^cleared by cli:ops: the lease of holder allow-host:1 \(taken .+ ago\) was expired .+ ago$/),
      expect.stringMatching(/^cleared by cli:ops: the lease of holder allow-host:1 \(taken .+ ago\) was still live$/),
    ]);
    expect(await refusal(clearJobLease(deps(j), cli, { lease: { runId: live } }))).toMatchObject({ code: "lock_not_found" });
  });

  it("a replay at the limit and a second mark-failed are refused and write nothing", async () => {
    const j = job();
    const [{ id: runId }] = await queryRows<{ id: string }>(ctx.db, sql`INSERT INTO cron_job_logs (job_name, status, completed_at) VALUES (${j.name}, 'failed', now()) RETURNING id`);
    const [{ id }] = await queryRows<{ id: string }>(
      ctx.db,
      sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, replay_count) VALUES (${runId}::uuid, ${j.name}, 'poison', ${j.deadLetter.replayLimit}) RETURNING id`,
    );
    const engine = {} as never;
    expect(await refusal(prepareReplay({ ...deps(j), engine }, admin, { id }))).toMatchObject({ kind: "conflict", code: "replay_limit_reached" });
    expect(await refusal(prepareReplay({ ...deps(), engine }, admin, { id }))).toMatchObject({ kind: "not_found", code: "job_not_found" });
    const [entry] = await queryRows<{ replay_count: number }>(ctx.db, sql`SELECT replay_count FROM cron_dead_letters WHERE id = ${id}::uuid`);
    expect(Number(entry.replay_count)).toBe(j.deadLetter.replayLimit);

    expect((await markFailed(deps(j), cli, { id, reason: "retired upstream" })).recoveryStatus).toBe("permanently_failed");
    expect(await refusal(markFailed(deps(j), admin, { id, reason: "again" }))).toMatchObject({ kind: "conflict", code: "not_pending" });
    expect((await auditOf(ctx.db, id)).map((r) => [r.actor, r.action, r.detail])).toEqual([["cli:ops", "dead_letter.mark_failed", { jobName: j.name, reason: "retired upstream", via: "cli" }]]);
  });

  it("logs cleanup returns what it deleted per table and audits it", async () => {
    const j = job();
    await ctx.db.execute(sql`INSERT INTO cron_job_logs (job_name, status, started_at) VALUES (${j.name}, 'completed', now() - interval '400 days')`);
    const report = await cleanOldLogs(deps(), cli, { env: envSchema.parse({}), days: 365 });
    expect(report.tables.find((t) => t.table === "cron_job_logs")).toMatchObject({ status: "done", retentionDays: 365, remaining: 0 });
    expect(report.tables.find((t) => t.table === "cron_job_logs")?.deleted).toBeGreaterThanOrEqual(1);
    const [row] = await queryRows<AuditRow>(ctx.db, sql`SELECT actor, action, target, detail, ip_address FROM cron_audit_log WHERE action = 'logs.cleanup' ORDER BY id DESC LIMIT 1`);
    expect(row).toMatchObject({ actor: "cli:ops", target: null, detail: { days: 365, via: "cli", complete: true, tables: { cron_job_logs: { retentionDays: 365, status: "done", remaining: 0 } } } });
  });
});
