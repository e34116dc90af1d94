import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import type { AlertEvent } from "@/lib/alerts";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import { queryRows } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { runTick, tickAlerts, tickJob, tickRunJob, type DispatchRequest, type DispatchResult, type Dispatcher } from "@/lib/app/tick";
import { parseEnv } from "@/lib/env";
import { describeOnDatabases } from "../support/db";

let counter = 0;
const uniqueName = (prefix = "tick-fault") => `${prefix}-${process.pid}-${++counter}`;
// A short timeout: every attempt fits the budgets below (a retry that does not fit is deferred).
const job = (overrides: Partial<JobConfig> = {}) => defineJob({ name: uniqueName(), schedule: "*/10 * * * *", timeout: "2s", handler: async () => "ok", ...overrides });
const at = (iso: string) => new Date(iso);
const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};

describeOnDatabases("the tick under faults", (ctx) => {
  let deps: EngineDeps;
  beforeEach(() => {
    deps = { runs: new PostgresRunStore(ctx.db), holder: "tick-test:1", codeVersion: null, settleGraceMs: 50 };
  });

  /** The execute route as the dispatcher reaches it: claims through the real engine. */
  const executeRoute = (jobs: JobDefinition[], calls: DispatchRequest[]): Dispatcher => async (request) => {
    calls.push(request);
    const target = jobs.find((j) => j.name === request.jobName);
    if (!target) return { request, status: 404 };
    const outcome =
      request.trigger === "retry"
        ? await runTrigger(deps, { job: target, trigger: "retry", scheduledFor: null, retryOf: request.runId, budgetMs: 60_000 })
        : await runTrigger(deps, { job: target, trigger: request.trigger, scheduledFor: request.slot, budgetMs: 60_000 });
    return { request, status: outcome.kind === "ran" && outcome.run.status !== "completed" ? 500 : 200 };
  };

  /** A job whose schedule throws on every question (as an unknown zone or a schedule bug would). */
  const brokenJob = (): JobDefinition => ({ ...job({ dispatch: "tick" }), schedule: { cron: "0 3 * * *", timezone: "Mars/Olympus_Mons" } });

  it("one job's failing schedule never stops the others: they are dispatched and the failure is reported", async () => {
    const broken = brokenJob();
    const paris = job({ schedule: { cron: "* * * * *", timezone: "Europe/Paris" } });
    const registry = new JobRegistry([broken, paris]);
    const calls: DispatchRequest[] = [];
    const logs: string[] = [];
    const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch: executeRoute([paris], calls), plan: "pro", holder: "tick", now: at(iso), log: (m) => logs.push(m) });
    for (const minute of ["2026-09-26T14:00:10Z", "2026-09-26T14:01:10Z", "2026-09-26T14:02:10Z"]) {
      const report = await tick(minute);
      expect(report.errors.map((e) => e.scope)).toContain(broken.name);
      expect(report.dispatched.filter((d) => d.request.jobName === paris.name && d.status === 200)).toHaveLength(1);
    }
    expect(calls.map((c) => (c.trigger === "tick" ? c.slot.toISOString() : c.trigger))).toEqual(["2026-09-26T14:00:00.000Z", "2026-09-26T14:01:00.000Z", "2026-09-26T14:02:00.000Z"]);
    expect(logs.some((l) => l.includes(broken.name) && l.includes("failed"))).toBe(true);
  });

  it("the tick's own run never fails, dead-letters or pauses: five ticks with a broken job complete and alert", async () => {
    const broken = brokenJob();
    const other = job({ schedule: { cron: "*/5 * * * *", timezone: "Pacific/Chatham" } });
    const registry = new JobRegistry([broken, other]);
    const alerted: AlertEvent[] = [];
    const alerts = tickAlerts(parseEnv({ CRON_SECRET: "s".repeat(32) }), { notify: async (event) => (alerted.push(event), { delivered: ["test"], failed: [], suppressed: false }) });
    const tickName = tickJob.name;
    const before = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_dead_letters WHERE job_name = ${tickName}`);
    for (let i = 0; i < 5; i++) {
      const now = new Date(Date.UTC(2026, 8, 26, 13, 55 + i, 5));
      const calls: DispatchRequest[] = [];
      const tickRun = tickRunJob({ db: ctx.db, registry, dispatch: executeRoute([other], calls), plan: "pro", holder: "tick", now }, alerts);
      const run = ran(await runTrigger(deps, { job: tickRun, trigger: "schedule", scheduledFor: new Date(Math.floor(now.getTime() / 60_000) * 60_000), budgetMs: 60_000 }));
      expect(run.status).toBe("completed");
      expect((run.output as { errors: Array<{ scope: string }> }).errors.map((e) => e.scope)).toContain(broken.name);
    }
    const after = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_dead_letters WHERE job_name = ${tickName}`);
    expect(after[0].n).toBe(before[0].n);
    const [config] = await queryRows<{ paused: boolean; dead_lettered: boolean }>(ctx.db, sql`SELECT paused, dead_lettered FROM cron_job_config WHERE job_name = ${tickName}`);
    expect(config ?? { paused: false, dead_lettered: false }).toMatchObject({ paused: false, dead_lettered: false });
    expect(alerted).toHaveLength(5);
    expect(alerted[0]).toMatchObject({ kind: "failure", jobName: tickName });
    expect(alerted[0].error).toContain(broken.name);
  });

  it("settles twenty due retries of a job gone from the registry (failed, alerted once) and still starts the real one", async () => {
    const gone = job({ retries: 2, backoff: { strategy: "fixed", delay: "1m" }, handler: async () => { throw new Error("first attempt fails"); } });
    for (let i = 0; i < 20; i++) {
      const run = ran(await runTrigger(deps, { job: gone, trigger: "schedule", scheduledFor: new Date(Date.UTC(2026, 5, 1, 0, i * 10)), budgetMs: 5_000 }));
      expect(run.status).toBe("retry_scheduled");
    }
    let attempts = 0;
    const real = job({ retries: 2, backoff: { strategy: "fixed", delay: "1m" }, handler: async () => { if (++attempts === 1) throw new Error("first attempt fails"); return "second worked"; } });
    const realRun = ran(await runTrigger(deps, { job: real, trigger: "schedule", scheduledFor: at("2026-06-01T05:00:00Z"), budgetMs: 5_000 }));
    expect(realRun.status).toBe("retry_scheduled");

    const registry = new JobRegistry([real]);
    const orphanAlerts: unknown[][] = [];
    const calls: DispatchRequest[] = [];
    const later = new Date(Date.now() + 5 * 60_000);
    const tick = (now: Date) => runTick({ db: ctx.db, registry, dispatch: executeRoute([real], calls), plan: "pro", holder: "tick", now, onOrphaned: async (runs) => void orphanAlerts.push(runs) });
    const report = await tick(later);
    expect(report.orphaned).toHaveLength(20);
    expect(report.orphaned.every((o) => o.jobName === gone.name && o.error === `job ${gone.name} is no longer in the registry: its deferred retry cannot run`)).toBe(true);
    expect(report.retries.map((r) => r.request)).toEqual([{ jobName: real.name, trigger: "retry", runId: realRun.id }]);
    expect(report.retries.map((r) => r.status)).toEqual([200]);
    const rows = await queryRows<{ status: string; n: number; pending: number }>(
      ctx.db,
      sql`SELECT status, count(*)::int AS n, count(next_retry_at)::int AS pending FROM cron_job_logs WHERE job_name = ${gone.name} GROUP BY status`,
    );
    expect(rows).toEqual([{ status: "failed", n: 20, pending: 0 }]);
    const [realRow] = await queryRows<{ status: string; attempts: number }>(ctx.db, sql`SELECT status, attempts FROM cron_job_logs WHERE id = ${realRun.id}`);
    expect(realRow).toMatchObject({ status: "completed", attempts: 2 });
    // Alerted once: the next tick settles nothing again and dispatches nothing to the gone job.
    const again = await tick(new Date(later.getTime() + 60_000));
    expect(again.orphaned).toEqual([]);
    expect(orphanAlerts).toHaveLength(1);
    expect(calls.filter((c) => c.jobName === gone.name)).toEqual([]);
  });

  it("picks due retries fairly: twenty busy retries of one job do not hold back another job's", async () => {
    const busy = job({ retries: 2, backoff: { strategy: "fixed", delay: "1m" }, handler: async () => { throw new Error("always fails"); } });
    for (let i = 0; i < 20; i++) ran(await runTrigger(deps, { job: busy, trigger: "schedule", scheduledFor: new Date(Date.UTC(2026, 6, 1, 0, i * 10)), budgetMs: 5_000 }));
    const other = job({ retries: 2, backoff: { strategy: "fixed", delay: "1m" }, handler: async () => { throw new Error("fails"); } });
    const otherRun = ran(await runTrigger(deps, { job: other, trigger: "schedule", scheduledFor: at("2026-07-01T06:00:00Z"), budgetMs: 5_000 }));
    const calls: DispatchRequest[] = [];
    // Dispatches answer 503 without running anything: the busy job's retries stay due.
    const unavailable: Dispatcher = async (request) => (calls.push(request), { request, status: 503 } satisfies DispatchResult);
    const report = await runTick({ db: ctx.db, registry: new JobRegistry([busy, other]), dispatch: unavailable, plan: "pro", holder: "tick", now: new Date(Date.now() + 5 * 60_000) });
    const byJob = (name: string) => report.retries.filter((r) => r.request.jobName === name);
    expect(byJob(other.name).map((r) => r.request)).toEqual([{ jobName: other.name, trigger: "retry", runId: otherRun.id }]);
    expect(byJob(busy.name).length).toBeLessThanOrEqual(2);
  });

  it("keeps a catch-up queued until the execute route claims it: a failed dispatch runs on the next tick", async () => {
    const j = job({ schedule: "*/10 * * * *", missed: "once" });
    const registry = new JobRegistry([j]);
    const calls: DispatchRequest[] = [];
    const route = executeRoute([j], calls);
    const failures = [
      async (request: DispatchRequest): Promise<DispatchResult> => (calls.push(request), { request, status: null, error: "connect ECONNREFUSED" }),
      async (request: DispatchRequest): Promise<DispatchResult> => (calls.push(request), { request, status: 503 }),
      async (request: DispatchRequest): Promise<DispatchResult> => {
        calls.push(request);
        throw new Error("socket hang up");
      },
    ];
    let mode = 0;
    const dispatch: Dispatcher = (request) => (mode < failures.length ? failures[mode](request) : route(request));
    const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch, plan: "pro", holder: "tick", now: at(iso) });
    await tick("2026-08-01T08:00:30Z");
    const first = await tick("2026-08-01T08:21:00Z"); // 08:00, 08:10 and 08:20 missed; once: catch up 08:20
    expect(first.missed[0].slots).toEqual(["2026-08-01T08:00:00.000Z", "2026-08-01T08:10:00.000Z", "2026-08-01T08:20:00.000Z"]);
    for (const minute of ["08:22", "08:23"]) {
      mode++;
      await tick(`2026-08-01T${minute}:00Z`);
    }
    mode++;
    await tick("2026-08-01T08:24:00Z"); // the real route: claims and runs it
    await tick("2026-08-01T08:25:00Z"); // nothing left to catch up
    const catchUps = calls.filter((c) => c.trigger === "catchup").map((c) => (c.trigger === "catchup" ? c.slot.toISOString() : ""));
    expect(catchUps).toEqual(Array(4).fill("2026-08-01T08:20:00.000Z"));
    const runs = await queryRows<{ status: string; trigger: string }>(ctx.db, sql`SELECT status, trigger FROM cron_job_logs WHERE job_name = ${j.name} AND status <> 'missed'`);
    expect(runs).toEqual([{ status: "completed", trigger: "catchup" }]);
  });

  it("takes a catch-up the route refuses for good (4xx) out of the queue, and reports it", async () => {
    const j = job({ schedule: "*/10 * * * *", missed: "once" });
    const registry = new JobRegistry([j]);
    const calls: DispatchRequest[] = [];
    const dispatch: Dispatcher = async (request) => (calls.push(request), { request, status: 400 });
    const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch, plan: "pro", holder: "tick", now: at(iso) });
    await tick("2026-08-02T08:00:30Z");
    const report = await tick("2026-08-02T08:11:00Z");
    expect(report.errors.map((e) => e.scope)).toEqual([j.name]);
    await tick("2026-08-02T08:12:00Z");
    expect(calls.filter((c) => c.trigger === "catchup")).toHaveLength(1);
  });
});
