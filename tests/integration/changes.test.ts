/**
 * The dashboard's change token (GET /api/admin/changes, issue 15 item 6), on PGlite and on the
 * Postgres server: it moves on every event the overview or the dead-letter page shows, driven
 * through the engine's own functions (a run starts, completes, fails, times out, is deferred to a
 * retry and retried by the tick; a skip; missed slots the tick records; a lease that expires and
 * the sweep that abandons its run; a dead letter replayed, marked failed; a job paused or toggled),
 * and it stays the same when nothing happened: two reads in a row are equal, and so is a read
 * after a tick that only moved its bookmarks.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { prepareReplay, markFailed } from "@/lib/app/operations/dead-letters";
import { runTick, type DispatchRequest, type DispatchResult } from "@/lib/app/tick";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import type { Actor } from "@/lib/cron/vocabulary";
import { queryRows } from "@/lib/db/client";
import { pauseJob } from "@/lib/db/commands/jobs";
import { inTransaction } from "@/lib/db/commands/transaction";
import { changes, changeToken } from "@/lib/db/queries/changes";
import { listDeadLetters } from "@/lib/db/queries/dead-letters";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

const admin: Actor = { name: "admin", via: "cookie", ip: "203.0.113.9" };
let counter = 0;
const job = (overrides: Partial<JobConfig> = {}) => defineJob({ name: `changes-${process.pid}-${++counter}`, schedule: "*/10 * * * *", handler: async () => "ok", ...overrides });
const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got ${o.kind}`);
  return o.run;
};

describeOnDatabases("the dashboard's change token", (ctx) => {
  const deps = (): EngineDeps => ({ runs: new PostgresRunStore(ctx.db), holder: "test-host:7", codeVersion: null, settleGraceMs: 50 });
  /** The token, read twice in a row: nothing happened between the reads, so they are equal. */
  const stable = async (): Promise<string> => {
    const first = await changeToken(ctx.db);
    expect(await changeToken(ctx.db), "a second read with nothing in between").toBe(first);
    return first;
  };
  /** A handler that reads the token while its run holds status started, then does `then`. */
  const observing = (seen: string[], then: () => Promise<unknown> = async () => "ok") => async () => {
    seen.push(await changeToken(ctx.db));
    return then();
  };
  const dispatchTo = (jobs: JobDefinition[], calls: DispatchRequest[]) => async (request: DispatchRequest): Promise<DispatchResult> => {
    calls.push(request);
    const target = jobs.find((j) => j.name === request.jobName)!;
    const outcome =
      request.trigger === "retry"
        ? await runTrigger(deps(), { job: target, trigger: "retry", scheduledFor: null, retryOf: request.runId, budgetMs: 60_000 })
        : await runTrigger(deps(), { job: target, trigger: request.trigger, scheduledFor: request.slot, budgetMs: 60_000 });
    return { request, status: outcome.kind === "ran" && outcome.run.status !== "completed" ? 500 : 200 };
  };

  it("is a short token, equal on two reads with nothing in between, and comes with the running runs", async () => {
    const token = await stable();
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(await changes(ctx.db)).toEqual({ token, runningJobs: [] });
  });

  it("moves when a run starts and again when it completes, fails or times out", async () => {
    for (const [label, then, status] of [
      ["completes", async () => "ok", "completed"],
      ["fails", async () => { throw new Error("upstream down"); }, "failed"],
      ["times out", () => new Promise(() => {}), "timed_out"],
    ] as const) {
      const seen: string[] = [];
      const before = await stable();
      const j = job({ retries: 0, timeout: "150ms", deadLetter: { pauseAfter: 0 }, handler: observing(seen, then) });
      expect(ran(await runTrigger(deps(), { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })).status, label).toBe(status);
      const after = await stable();
      expect(seen[0], `${label}: started`).not.toBe(before);
      expect(after, `${label}: ended`).not.toBe(seen[0]);
      expect(after, `${label}: ended`).not.toBe(before);
    }
  });

  it("a running run is in the answer, with its stale flag; the token moves when its lease expires and when the sweep abandons it", async () => {
    const j = job();
    const store = new PostgresRunStore(ctx.db);
    const before = await stable();
    // A claim whose holder then stops: no handler, no heartbeat.
    const claim = await store.claim({ jobName: j.name, trigger: "manual", scheduledFor: null, dedupeKey: null, overlap: "skip", enabledByDefault: true, checkState: false, leaseMs: 600_000, holder: "gone-host:1", codeVersion: null, actor: null });
    expect(claim.outcome).toBe("claimed");
    const runId = (claim as { runId: string }).runId;
    const live = await stable();
    expect(live).not.toBe(before);
    expect((await changes(ctx.db)).runningJobs).toMatchObject([{ runId, jobName: j.name, stale: false, holder: "gone-host:1" }]);
    // Time passes the lease (the database clock decides): the same run is now stale, nothing was written to it.
    await ctx.db.execute(sql`UPDATE cron_job_leases SET expires_at = now() - interval '1 second' WHERE run_id = ${runId}::uuid`);
    await ctx.db.execute(sql`UPDATE cron_job_logs SET lease_expires_at = now() - interval '1 second' WHERE id = ${runId}::uuid`);
    const stale = await stable();
    expect(stale).not.toBe(live);
    expect((await changes(ctx.db)).runningJobs).toMatchObject([{ runId, stale: true }]);
    const report = await runTick({ db: ctx.db, registry: new JobRegistry([]), dispatch: async (request) => ({ request, status: 200 }), plan: "pro", holder: "tick", now: new Date() });
    expect(report.abandoned.map((a) => a.runId)).toContain(runId);
    const swept = await stable();
    expect(swept).not.toBe(stale);
    expect((await changes(ctx.db)).runningJobs).toEqual([]);
  });

  it("moves on a skip row, on missed slots the tick records, and not on a tick that only moves its bookmarks", async () => {
    const j = job({ schedule: "*/10 * * * *", missed: { policy: "skip", max: 1 } });
    const slot = new Date("2026-11-21T08:00:00Z");
    const before = await stable();
    ran(await runTrigger(deps(), { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 }));
    const afterRun = await stable();
    expect(afterRun).not.toBe(before);
    // The same slot delivered again: a skip row (duplicate), nothing else.
    expect(await runTrigger(deps(), { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 })).toMatchObject({ kind: "skipped", reason: "duplicate" });
    const afterSkip = await stable();
    expect(afterSkip).not.toBe(afterRun);

    const registry = new JobRegistry([j]);
    const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch: dispatchTo([j], []), plan: "pro", holder: "tick", now: new Date(iso) });
    // First sight of the job: the tick writes its bookmark (missed_checked_until) and records nothing.
    expect((await tick("2026-11-21T08:00:30Z")).missed).toEqual([]);
    expect(await stable(), "a tick that recorded nothing").toBe(afterSkip);
    // 08:10 to 08:40 got no trigger: four missed rows. Their slots are in the past; their started_at is now.
    expect((await tick("2026-11-21T08:41:00Z")).missed).toHaveLength(1);
    const afterMissed = await stable();
    expect(afterMissed).not.toBe(afterSkip);
    const rows = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_job_logs WHERE job_name = ${j.name} AND status = 'missed'`);
    expect(rows[0].n).toBe(4);
  });

  it("moves when a run is deferred to a retry, when the tick starts the retry and when the retry ends", async () => {
    let calls = 0;
    const seen: string[] = [];
    const j = job({ retries: 2, timeout: "10s", backoff: { strategy: "fixed", delay: "1m" }, handler: observing(seen, async () => { if (++calls === 1) throw new Error("first attempt fails"); return "second worked"; }) });
    const before = await stable();
    const first = ran(await runTrigger(deps(), { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-20T11:00:00Z"), budgetMs: 5_000 }));
    expect(first).toMatchObject({ status: "retry_scheduled", retryDeferred: true });
    const deferred = await stable();
    expect(seen[0]).not.toBe(before);
    expect(deferred).not.toBe(seen[0]);
    const [row] = await queryRows<{ next_retry_at: Date | string }>(ctx.db, sql`SELECT next_retry_at FROM cron_job_logs WHERE id = ${first.id}`);
    const calls1: DispatchRequest[] = [];
    await runTick({ db: ctx.db, registry: new JobRegistry([j]), dispatch: dispatchTo([j], calls1), plan: "pro", holder: "tick", now: new Date(new Date(row.next_retry_at).getTime() + 1_000) });
    expect(calls1.map((c) => c.trigger)).toContain("retry");
    expect(seen).toHaveLength(2);
    expect(seen[1], "the retry running").not.toBe(deferred);
    const done = await stable();
    expect(done, "the retry completed").not.toBe(seen[1]);
    expect(done).not.toBe(deferred);
  });

  it("moves on a new dead letter, a replay counted, the replay's success, and a mark-failed", async () => {
    let fail = true;
    const j = job({ retries: 0, deadLetter: { replayLimit: 3, pauseAfter: 10 }, handler: async () => { if (fail) throw new Error("bad day"); return "ok"; } });
    const registry = new JobRegistry([j]);
    const slots = [new Date("2026-11-19T00:00:00Z"), new Date("2026-11-19T00:10:00Z")];
    for (const slot of slots) ran(await runTrigger(deps(), { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 }));
    const { entries } = await listDeadLetters(ctx.db, { jobName: j.name, status: "pending", limit: 10, offset: 0 });
    expect(entries).toHaveLength(2);
    const base = await stable();

    // An operator's replay: counted and audited first, run afterwards (as the admin API does).
    fail = false;
    const replay = await prepareReplay({ db: ctx.db, registry, engine: deps() }, admin, { id: entries[0].id });
    const counted = await stable();
    expect(counted, "the replay counted").not.toBe(base);
    expect(ran(await replay.run(60_000)).status).toBe("completed");
    const replayed = await stable();
    expect(replayed, "the entry replayed").not.toBe(counted);
    expect((await listDeadLetters(ctx.db, { jobName: j.name, status: "pending", limit: 10, offset: 0 })).entries.map((e) => e.id)).toEqual([entries[1].id]);

    await markFailed({ db: ctx.db }, admin, { id: entries[1].id, reason: "obsolete" });
    const settled = await stable();
    expect(settled, "marked failed").not.toBe(replayed);
  });

  it("moves when another operator pauses a job, and when a job is toggled through the seed's SQL function (no audit row)", async () => {
    const j = job();
    const before = await stable();
    await inTransaction(ctx.db, (tx) => pauseJob(tx, { name: "bob", via: "bearer", ip: null }, { jobName: j.name, enabledByDefault: true, paused: true, note: "maintenance" }));
    const paused = await stable();
    expect(paused).not.toBe(before);
    const audits = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_audit_log`);
    await ctx.db.execute(sql`SELECT toggle_cron_job(${j.name}, false, 'psql')`);
    expect((await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_audit_log`))[0].n).toBe(audits[0].n);
    expect(await stable()).not.toBe(paused);
  });

  it("does not move on a heartbeat of a running run (the banner shows its progress from the answer)", async () => {
    const j = job();
    const store = new PostgresRunStore(ctx.db);
    const claim = await store.claim({ jobName: j.name, trigger: "manual", scheduledFor: null, dedupeKey: null, overlap: "skip", enabledByDefault: true, checkState: false, leaseMs: 60_000, holder: "busy-host:1", codeVersion: null, actor: null, runId: randomUUID() });
    const { runId, fencingToken } = claim as { runId: string; fencingToken: number };
    const before = await stable();
    const beat = await store.heartbeat(runId, fencingToken, 120_000, { attempts: 1, attemptDetails: null, logFrom: 0, logLines: [{ at: new Date().toISOString(), message: "halfway" }] });
    expect(beat.alive).toBe(true);
    expect(await stable()).toBe(before);
    expect((await changes(ctx.db)).runningJobs).toMatchObject([{ runId, logCount: 1, lastLine: { message: "halfway" } }]);
  });
});
