import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import { queryRows } from "@/lib/db/client";
import { OperationError } from "@/lib/cron/errors";
import type { Actor } from "@/lib/cron/vocabulary";
import { replayDeadLetter } from "@/lib/db/commands/dead-letters";
import { recoverJob } from "@/lib/db/commands/jobs";
import { listDeadLetters } from "@/lib/db/queries/dead-letters";

const admin: Actor = { name: "admin", via: "cookie", ip: null };
const beginReplay = (db: Parameters<typeof replayDeadLetter>[0], id: string, replayLimit: number) => replayDeadLetter(db, admin, { id, replayLimit, executionId: crypto.randomUUID() });
import { PostgresRunStore } from "@/lib/db/run-store";
import { runTick, type DispatchRequest, type DispatchResult } from "@/lib/app/tick";
import { describeOnDatabases } from "../support/db";

let counter = 0;
const uniqueName = () => `fail-job-${process.pid}-${++counter}`;
const job = (overrides: Partial<JobConfig> = {}) => defineJob({ name: uniqueName(), schedule: "*/10 * * * *", handler: async () => "ok", ...overrides });
const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};
const at = (iso: string) => new Date(iso);

describeOnDatabases("failure handling", (ctx) => {
  let deps: EngineDeps;
  beforeEach(() => {
    deps = { runs: new PostgresRunStore(ctx.db), holder: "test-host:2", codeVersion: null, settleGraceMs: 50 };
  });
  const config = async (name: string) =>
    (await queryRows<{ consecutive_failures: number; consecutive_dead_letters: number; dead_lettered: boolean; dead_letter_reason: string | null }>(
      ctx.db,
      sql`SELECT * FROM cron_job_config WHERE job_name = ${name}`,
    ))[0];
  const trigger = (j: JobDefinition, slot: string, budgetMs = 60_000) => runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: at(slot), budgetMs });

  /** The execute route, as the tick's dispatcher would reach it over HTTP. */
  const dispatchTo = (jobs: JobDefinition[], calls: DispatchRequest[]) => async (request: DispatchRequest): Promise<DispatchResult> => {
    calls.push(request);
    const target = jobs.find((j) => j.name === request.jobName)!;
    const outcome =
      request.trigger === "retry"
        ? await runTrigger(deps, { job: target, trigger: "retry", scheduledFor: null, retryOf: request.runId, budgetMs: 60_000 })
        : await runTrigger(deps, { job: target, trigger: request.trigger, scheduledFor: request.slot, budgetMs: 60_000 });
    return { request, status: outcome.kind === "ran" && outcome.run.status !== "completed" ? 500 : 200 };
  };

  it("dead-letters a run that exhausts its retries and counts consecutive failures", async () => {
    const j = job({ retries: 2, timeout: "10s", backoff: { strategy: "immediate" }, handler: async () => { throw new Error("upstream down"); } });
    const run = ran(await trigger(j, "2026-11-20T10:00:00Z"));
    expect(run).toMatchObject({ status: "failed", attempts: 3, consecutiveFailures: 1, autoPaused: false });
    expect(run.deadLetterId).toBeTruthy();
    const { entries } = await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ runId: run.id, jobName: j.name, scheduledFor: "2026-11-20T10:00:00.000Z", failureReason: "upstream down", attempts: 3, recoveryStatus: "pending", replayCount: 0, priority: "normal" });
    expect(entries[0].errorStack).toContain("upstream down");
    expect((await config(j.name)).consecutive_failures).toBe(1);
  });

  it("pauses the job after pauseAfter dead-lettered runs, skips triggers, and resumes on recover", async () => {
    let fail = true;
    const j = job({ deadLetter: { pauseAfter: 2 }, handler: async () => { if (fail) throw new Error("still broken"); return "fine"; } });
    expect(ran(await trigger(j, "2026-11-20T10:00:00Z")).autoPaused).toBe(false);
    const second = ran(await trigger(j, "2026-11-20T10:10:00Z"));
    expect(second.autoPaused).toBe(true);
    expect(await config(j.name)).toMatchObject({ dead_lettered: true, consecutive_failures: 2, consecutive_dead_letters: 2 });
    expect((await config(j.name)).dead_letter_reason).toContain("still broken");
    expect(await trigger(j, "2026-11-20T10:20:00Z")).toMatchObject({ kind: "skipped", reason: "dead_lettered" });

    expect(await recoverJob(ctx.db, admin, { jobName: j.name, note: null })).toEqual({ wasDeadLettered: true, wasPaused: false });
    expect(await config(j.name)).toMatchObject({ dead_lettered: false, consecutive_failures: 0, consecutive_dead_letters: 0 });
    fail = false;
    const back = ran(await trigger(j, "2026-11-20T10:30:00Z"));
    expect(back).toMatchObject({ status: "completed", previousFailures: 0 });
  });

  it("resets the counters on a success (a recovery reports the failures before it)", async () => {
    let fail = true;
    const j = job({ handler: async () => { if (fail) throw new Error("x"); } });
    await trigger(j, "2026-11-20T10:00:00Z");
    await trigger(j, "2026-11-20T10:10:00Z");
    fail = false;
    expect(ran(await trigger(j, "2026-11-20T10:20:00Z"))).toMatchObject({ status: "completed", consecutiveFailures: 0, previousFailures: 2 });
  });

  it("replays a dead-letter entry with its original slot, and stops at the replay limit", async () => {
    const seen: Array<{ slot: string | null; trigger: string }> = [];
    let fail = true;
    const j = job({ deadLetter: { replayLimit: 2, pauseAfter: 10 }, handler: async (c) => { seen.push({ slot: c.scheduledFor?.toISOString() ?? null, trigger: c.trigger }); if (fail) throw new Error("bad day"); } });
    const original = ran(await trigger(j, "2026-11-19T00:00:00Z"));
    const entryId = (await listDeadLetters(ctx.db, { jobName: j.name, limit: 1, offset: 0 })).entries[0].id;

    const replay = async () => {
      const entry = await beginReplay(ctx.db, entryId, j.deadLetter.replayLimit);
      return ran(await runTrigger(deps, { job: j, trigger: "replay", scheduledFor: entry.scheduledFor ? new Date(entry.scheduledFor) : null, replayOf: entry.runId, budgetMs: 60_000 }));
    };
    const failedReplay = await replay();
    expect(failedReplay.status).toBe("failed");
    expect(failedReplay.deadLetterId).toBeNull(); // a replay settles its entry, it does not make another
    fail = false;
    const goodReplay = await replay();
    expect(goodReplay.status).toBe("completed");
    expect(seen.map((s) => s.slot)).toEqual(["2026-11-19T00:00:00.000Z", "2026-11-19T00:00:00.000Z", "2026-11-19T00:00:00.000Z"]);
    expect(seen.map((s) => s.trigger)).toEqual(["schedule", "replay", "replay"]);
    const { entries } = await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ recoveryStatus: "replayed", replayCount: 2, lastReplayRunId: goodReplay.id, runId: original.id });
    await expect(beginReplay(ctx.db, entryId, j.deadLetter.replayLimit)).rejects.toMatchObject({ code: "not_pending" });
  });

  it("refuses a replay past the limit (poison loop)", async () => {
    const j = job({ deadLetter: { replayLimit: 1, pauseAfter: 10 }, handler: async () => { throw new Error("poison"); } });
    await trigger(j, "2026-11-19T01:00:00Z");
    const entryId = (await listDeadLetters(ctx.db, { jobName: j.name, limit: 1, offset: 0 })).entries[0].id;
    await beginReplay(ctx.db, entryId, 1);
    const error = (await beginReplay(ctx.db, entryId, 1).then(
      () => null,
      (e: unknown) => e,
    )) as OperationError;
    expect(error).toBeInstanceOf(OperationError);
    expect(error.code).toBe("replay_limit_reached");
  });

  it("stores a retry that does not fit the budget, and the tick starts it when due and not before", async () => {
    let calls = 0;
    const j = job({ retries: 2, timeout: "10s", backoff: { strategy: "fixed", delay: "1m" }, handler: async () => { if (++calls === 1) throw new Error("first attempt fails"); return "second worked"; } });
    const t0 = new Date();
    const first = ran(await trigger(j, "2026-11-20T11:00:00Z", 5_000));
    expect(first).toMatchObject({ status: "retry_scheduled", attempts: 1, retryDeferred: true, deadLetterId: null });
    const [row] = await queryRows<{ status: string; next_retry_at: Date | string; completed_at: unknown }>(ctx.db, sql`SELECT status, next_retry_at, completed_at FROM cron_job_logs WHERE id = ${first.id}`);
    expect(row.status).toBe("retry_scheduled");
    expect(row.completed_at).toBeNull();
    const dueAt = new Date(row.next_retry_at).getTime();
    expect(dueAt - t0.getTime()).toBeGreaterThanOrEqual(59_000);

    const calls1: DispatchRequest[] = [];
    const registry = new JobRegistry([j]);
    const early = await runTick({ db: ctx.db, registry, dispatch: dispatchTo([j], calls1), plan: "pro", holder: "tick", now: new Date(dueAt - 1_000) });
    expect(early.retries).toHaveLength(0);
    expect(calls).toBe(1);

    const onTime = await runTick({ db: ctx.db, registry, dispatch: dispatchTo([j], calls1), plan: "pro", holder: "tick", now: new Date(dueAt + 1_000) });
    expect(onTime.retries.map((r) => r.request)).toEqual([{ jobName: j.name, trigger: "retry", runId: first.id }]);
    expect(calls).toBe(2);
    const [after] = await queryRows<{ status: string; attempts: number; output: unknown; attempt_details: unknown[] }>(ctx.db, sql`SELECT status, attempts, output, attempt_details FROM cron_job_logs WHERE id = ${first.id}`);
    expect(after).toMatchObject({ status: "completed", attempts: 2, output: "second worked" });
    expect(after.attempt_details).toHaveLength(2);
    // Resumed once: a second tick finds nothing due.
    const again = await runTick({ db: ctx.db, registry, dispatch: dispatchTo([j], calls1), plan: "pro", holder: "tick", now: new Date(dueAt + 120_000) });
    expect(again.retries).toHaveLength(0);
  });

  it("marks runs abandoned when a crashed holder's lease expires", async () => {
    const j = job();
    const store = new PostgresRunStore(ctx.db);
    const claim = await store.claim({ jobName: j.name, trigger: "schedule", scheduledFor: at("2026-11-20T12:00:00Z"), dedupeKey: "slot:2026-11-20T12:00:00.000Z", overlap: "skip", enabledByDefault: true, checkState: true, leaseMs: 100, holder: "crashed-host:4242", codeVersion: null, actor: null });
    expect(claim.outcome).toBe("claimed");
    await new Promise((r) => setTimeout(r, 250));
    const report = await runTick({ db: ctx.db, registry: new JobRegistry([]), dispatch: async (request) => ({ request, status: 200 }), plan: "pro", holder: "tick", now: new Date() });
    const mine = report.abandoned.find((a) => a.jobName === j.name)!;
    expect(mine).toMatchObject({ runId: claim.runId, holder: "crashed-host:4242" });
    expect(mine.expiredSecondsAgo).toBeGreaterThanOrEqual(0);
    const [row] = await queryRows<{ status: string; error_message: string }>(ctx.db, sql`SELECT status, error_message FROM cron_job_logs WHERE id = ${claim.runId}`);
    expect(row.status).toBe("abandoned");
    expect(row.error_message).toContain("crashed-host:4242");
    expect(await queryRows(ctx.db, sql`SELECT 1 FROM cron_job_leases WHERE job_name = ${j.name}`)).toHaveLength(0);
  });

  for (const policy of ["skip", "once", "all"] as const) {
    it(`records missed slots and applies missed: ${policy}`, async () => {
      const j = job({ schedule: "*/10 * * * *", missed: { policy, max: 2 } });
      const registry = new JobRegistry([j]);
      const calls: DispatchRequest[] = [];
      const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch: dispatchTo([j], calls), plan: "pro", holder: "tick", now: at(iso) });
      await tick("2026-11-21T08:00:30Z"); // first sight: bookmark at 07:59:30
      await trigger(j, "2026-11-21T08:00:00Z"); // this slot ran
      const report = await tick("2026-11-21T08:41:00Z"); // 08:10, 08:20, 08:30, 08:40 were expected by 08:40:00
      expect(report.missed).toHaveLength(1);
      expect(report.missed[0].slots).toEqual(["2026-11-21T08:10:00.000Z", "2026-11-21T08:20:00.000Z", "2026-11-21T08:30:00.000Z", "2026-11-21T08:40:00.000Z"]);
      const expectedCatchUps = { skip: [], once: ["2026-11-21T08:40:00.000Z"], all: ["2026-11-21T08:30:00.000Z", "2026-11-21T08:40:00.000Z"] }[policy];
      // One catch-up per tick while the job's lease is free, oldest first, so catch-ups never overlap.
      expect(calls.map((c) => (c.trigger === "catchup" ? c.slot.toISOString() : c.trigger))).toEqual(expectedCatchUps.slice(0, 1));
      expect((await tick("2026-11-21T08:41:30Z")).missed).toEqual([]);
      expect(calls.map((c) => (c.trigger === "catchup" ? c.slot.toISOString() : c.trigger))).toEqual(expectedCatchUps);
      const rows = await queryRows<{ status: string; trigger: string }>(ctx.db, sql`SELECT status, trigger FROM cron_job_logs WHERE job_name = ${j.name} ORDER BY scheduled_for, status`);
      expect(rows.filter((r) => r.status === "missed")).toHaveLength(4);
      expect(rows.filter((r) => r.trigger === "catchup" && r.status === "completed")).toHaveLength(expectedCatchUps.length);
      // Nothing is reported twice.
      expect((await tick("2026-11-21T08:42:00Z")).missed).toEqual([]);
      expect(calls).toHaveLength(expectedCatchUps.length);
    });
  }

  it("detects missed slots across a spring-forward DST change, once each", async () => {
    const j = job({ schedule: { cron: "30 2 * * *", timezone: "Europe/Paris" } });
    const registry = new JobRegistry([j]);
    const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch: async (request) => ({ request, status: 200 }), plan: "pro", holder: "tick", now: at(iso) });
    await tick("2026-03-27T12:00:00Z");
    const report = await tick("2026-03-30T12:00:00Z");
    // 02:30 CET on the 28th, the gap-shifted 03:30 CEST on the 29th, 02:30 CEST on the 30th.
    expect(report.missed[0].slots).toEqual(["2026-03-28T01:30:00.000Z", "2026-03-29T01:30:00.000Z", "2026-03-30T00:30:00.000Z"]);
  });

  it("does not count slots of a disabled or paused job as missed", async () => {
    const j = job({ schedule: "*/10 * * * *" });
    const registry = new JobRegistry([j]);
    const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch: async (request) => ({ request, status: 200 }), plan: "pro", holder: "tick", now: at(iso) });
    await tick("2026-11-22T08:00:30Z");
    await ctx.db.execute(sql`UPDATE cron_job_config SET paused = true WHERE job_name = ${j.name}`);
    expect((await tick("2026-11-22T09:00:30Z")).missed).toEqual([]);
    await ctx.db.execute(sql`UPDATE cron_job_config SET paused = false WHERE job_name = ${j.name}`);
    // Slots due while it was paused are not missed; once resumed, a slot with no trigger is.
    expect((await tick("2026-11-22T09:21:00Z")).missed[0].slots).toEqual(["2026-11-22T09:00:00.000Z", "2026-11-22T09:10:00.000Z", "2026-11-22T09:20:00.000Z"]);
  });

  it("dispatches the jobs it owns (timezones) for the current slot only, and uses an hour of grace on Hobby", async () => {
    const paris = job({ schedule: { cron: "0 9 * * *", timezone: "Europe/Paris" } });
    const utc = job({ schedule: "0 9 * * *" });
    const registry = new JobRegistry([paris, utc]);
    const calls: DispatchRequest[] = [];
    const dispatch = async (request: DispatchRequest) => (calls.push(request), { request, status: 200 });
    await runTick({ db: ctx.db, registry, dispatch, plan: "pro", holder: "tick", now: at("2026-11-23T08:00:20Z") });
    expect(calls).toEqual([{ jobName: paris.name, trigger: "tick", slot: at("2026-11-23T08:00:00Z") }]);
    calls.length = 0;
    await runTick({ db: ctx.db, registry, dispatch, plan: "pro", holder: "tick", now: at("2026-11-23T08:30:00Z") });
    expect(calls.filter((c) => c.trigger === "tick")).toEqual([]);
    await runTick({ db: ctx.db, registry, dispatch, plan: "hobby", holder: "tick", now: at("2026-11-23T08:30:00Z") });
    expect(calls.filter((c) => c.trigger === "tick")).toHaveLength(1);
  });
});
