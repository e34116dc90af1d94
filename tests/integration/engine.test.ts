import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { NonRetriableError } from "@/lib/cron/errors";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import { queryRows } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

let counter = 0;
const uniqueName = () => `engine-job-${process.pid}-${++counter}`;

function job(overrides: Partial<JobConfig> = {}) {
  return defineJob({ name: uniqueName(), schedule: "*/5 * * * *", handler: async () => "ok", ...overrides });
}

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};

describeOnDatabases("engine", (ctx) => {
  let deps: EngineDeps;
  beforeEach(() => {
    deps = { runs: new PostgresRunStore(ctx.db), holder: "test-host:1", codeVersion: "abc123", secrets: ["hunter2-secret-value"], settleGraceMs: 100 };
  });

  const rowsOf = (jobName: string) =>
    queryRows<{ id: string; status: string; skip_reason: string | null; attempts: number; error_message: string | null; error_stack: string | null; output: unknown; log_lines: unknown; attempt_details: unknown; code_version: string; holder: string; trigger: string; fencing_token: string | null }>(
      ctx.db,
      sql`SELECT * FROM cron_job_logs WHERE job_name = ${jobName} ORDER BY started_at, created_at`,
    );

  it("runs a scheduled slot once and records it", async () => {
    const j = job({ handler: async (c) => { c.log("hello", { n: 1 }); return { processed: 3 }; } });
    const slot = new Date("2026-11-24T10:00:00Z");
    const run = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 }));
    expect(run.status).toBe("completed");
    expect(run.attempts).toBe(1);
    expect(run.output).toEqual({ processed: 3 });
    const rows = await rowsOf(j.name);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "completed", attempts: 1, code_version: "abc123", holder: "test-host:1", trigger: "schedule", output: { processed: 3 } });
    expect(rows[0].log_lines).toEqual([expect.objectContaining({ message: "hello", data: { n: 1 } })]);
    const leases = await queryRows(ctx.db, sql`SELECT * FROM cron_job_leases WHERE job_name = ${j.name}`);
    expect(leases).toHaveLength(0);

    const again = await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 });
    expect(again).toMatchObject({ kind: "skipped", reason: "duplicate" });
    expect((await rowsOf(j.name)).map((r) => r.status)).toEqual(["completed", "skipped"]);
  });

  it("gives exactly one run to 30 concurrent triggers of one slot", async () => {
    let calls = 0;
    const j = job({ handler: async () => { calls++; await new Promise((r) => setTimeout(r, 50)); } });
    const slot = new Date("2026-11-24T10:05:00Z");
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 })));
    expect(calls).toBe(1);
    expect(outcomes.filter((o) => o.kind === "ran")).toHaveLength(1);
    const skips = outcomes.filter((o) => o.kind === "skipped");
    expect(skips).toHaveLength(29);
    for (const s of skips) expect(["duplicate", "already_running"]).toContain(s.kind === "skipped" && s.reason);
    expect(await rowsOf(j.name)).toHaveLength(30);
  });

  it("skips a different slot while a run holds the lease (overlap skip)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const j = job({ handler: () => gate });
    const first = runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T10:00:00Z"), budgetMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    const second = await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T10:05:00Z"), budgetMs: 60_000 });
    expect(second).toMatchObject({ kind: "skipped", reason: "already_running" });
    release();
    expect(ran(await first).status).toBe("completed");
  });

  it("lets runs overlap under overlap: allow", async () => {
    let running = 0;
    let maxRunning = 0;
    const j = job({ overlap: "allow", handler: async () => { running++; maxRunning = Math.max(maxRunning, running); await new Promise((r) => setTimeout(r, 100)); running--; } });
    const outcomes = await Promise.all([0, 1, 2].map(() => runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })));
    expect(outcomes.every((o) => o.kind === "ran")).toBe(true);
    expect(maxRunning).toBe(3);
  });

  it("runs one buffered trigger right after the current run (bufferOne)", async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const j = job({ overlap: "bufferOne", handler: async (c) => { order.push(`start:${c.scheduledFor?.toISOString().slice(11, 16)}`); if (order.length === 1) await gate; } });
    deps.queuePollMs = 20;
    const first = runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T10:00:00Z"), budgetMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    const buffered = runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T10:05:00Z"), budgetMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    const third = await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T10:10:00Z"), budgetMs: 60_000 });
    expect(third).toMatchObject({ kind: "skipped", reason: "already_running" });
    release();
    expect(ran(await first).status).toBe("completed");
    expect(ran(await buffered).status).toBe("completed");
    expect(order).toEqual(["start:10:00", "start:10:05"]);
  });

  it("aborts the running handler and takes over (replace)", async () => {
    let firstAborted = false;
    const j = job({
      overlap: "replace",
      timeout: "30s",
      handler: async (c) => {
        if (c.scheduledFor?.getUTCMinutes() === 0) {
          await new Promise<void>((resolve) => c.signal.addEventListener("abort", () => { firstAborted = true; resolve(); }));
          throw c.signal.reason;
        }
        return "second";
      },
    });
    deps.queuePollMs = 20;
    deps.leaseMs = () => 300; // heartbeats every 100ms carry the cancel request quickly
    const first = runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T10:00:00Z"), budgetMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    const second = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T10:05:00Z"), budgetMs: 60_000 }));
    expect(firstAborted).toBe(true);
    expect(second.output).toBe("second");
    const firstRun = ran(await first);
    expect(firstRun.status).toBe("replaced");
    expect(firstRun.error).toContain("replaced");
  });

  it("retries with backoff and records each attempt", async () => {
    let calls = 0;
    const j = job({ retries: 2, timeout: "5s", backoff: { strategy: "fixed", delay: "20ms" }, handler: async () => { if (++calls < 3) throw new Error(`boom ${calls}`); return calls; } });
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(run).toMatchObject({ status: "completed", attempts: 3, output: 3 });
    const [row] = await rowsOf(j.name);
    expect(row.attempts).toBe(3);
    expect((row.attempt_details as Array<{ error?: string }>).map((a) => a.error ?? null)).toEqual(["boom 1", "boom 2", null]);
  });

  it("stops at a NonRetriableError, redacts secrets and counts consecutive failures", async () => {
    const j = job({ retries: 5, backoff: { strategy: "immediate" }, handler: async () => { throw new NonRetriableError("bad input; password hunter2-secret-value at postgres://u:pw123@db/x"); } });
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(run.status).toBe("failed");
    expect(run.attempts).toBe(1);
    expect(run.error).not.toContain("hunter2-secret-value");
    expect(run.error).not.toContain("pw123");
    expect(run.consecutiveFailures).toBe(1);
    const again = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(again.consecutiveFailures).toBe(2);
    const [row] = await rowsOf(j.name);
    expect(row.error_stack).toContain("NonRetriableError");
    expect(row.error_stack).not.toContain("hunter2-secret-value");
  });

  it("defers a retry whose delay does not fit the time budget (retry_scheduled)", async () => {
    const j = job({ retries: 3, backoff: { strategy: "exponential", delay: "1m" }, handler: async () => { throw new Error("flaky"); } });
    const run = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T11:00:00Z"), budgetMs: 5_000 }));
    expect(run).toMatchObject({ status: "retry_scheduled", attempts: 1, retryDeferred: true, deadLetterId: null });
    expect(run.nextRetryAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
  });

  it("aborts the signal at the timeout and records timed_out", async () => {
    let sawAbort = false;
    const j = job({ timeout: "150ms", handler: (c) => new Promise((_, reject) => c.signal.addEventListener("abort", () => { sawAbort = true; reject(c.signal.reason); })) });
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(sawAbort).toBe(true);
    expect(run.status).toBe("timed_out");
    expect((await rowsOf(j.name))[0].status).toBe("timed_out");
    expect(await queryRows(ctx.db, sql`SELECT 1 FROM cron_job_leases WHERE job_name = ${j.name}`)).toHaveLength(0);
  });

  it("keeps the lease while a timed-out handler ignores its signal, so nothing overlaps", async () => {
    let running = 0;
    let maxRunning = 0;
    let finishIgnoring!: () => void;
    const j = job({
      timeout: "100ms",
      handler: async (c) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        if (c.scheduledFor?.getUTCMinutes() === 0) await new Promise<void>((r) => (finishIgnoring = r)); // ignores c.signal
        running--;
      },
    });
    deps.leaseMs = () => 300;
    const first = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T12:00:00Z"), budgetMs: 60_000 }));
    expect(first.status).toBe("timed_out");
    // Well past the 300ms lease: heartbeats keep it while the handler lives.
    await new Promise((r) => setTimeout(r, 700));
    const second = await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T12:05:00Z"), budgetMs: 60_000 });
    expect(second).toMatchObject({ kind: "skipped", reason: "already_running" });
    finishIgnoring();
    await new Promise((r) => setTimeout(r, 100));
    const third = await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T12:10:00Z"), budgetMs: 60_000 });
    expect(ran(third).status).toBe("completed");
    expect(maxRunning).toBe(1);
  });

  it("abandons a crashed holder's run once its lease expires, and fences its late finish", async () => {
    const j = job();
    const store = new PostgresRunStore(ctx.db);
    const base = { jobName: j.name, trigger: "schedule" as const, overlap: "skip" as const, enabledByDefault: true, checkState: true, holder: "dead-host:99", codeVersion: null, actor: null };
    const crashed = await store.claim({ ...base, scheduledFor: new Date("2026-11-24T13:00:00Z"), dedupeKey: "slot:2026-11-24T13:00:00.000Z", leaseMs: 100 });
    expect(crashed.outcome).toBe("claimed");
    await new Promise((r) => setTimeout(r, 200));
    const next = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T13:05:00Z"), budgetMs: 60_000 }));
    expect(next.status).toBe("completed");
    const rows = await rowsOf(j.name);
    expect(rows[0]).toMatchObject({ status: "abandoned" });
    expect(rows[0].error_message).toContain("dead-host:99");
    if (crashed.outcome !== "claimed") throw new Error("unreachable");
    const late = await store.finish({ runId: crashed.runId, fencingToken: crashed.fencingToken, status: "completed", attempts: 1, errorMessage: null, errorStack: null, output: null, logLines: [], attemptDetails: [], releaseLease: true });
    expect(late.finished).toBe(false);
    expect((await rowsOf(j.name))[0].status).toBe("abandoned");
  });

  it("skips disabled, paused and dead-lettered jobs for scheduled triggers, but runs manual ones", async () => {
    const disabled = job({ enabled: false });
    expect(await runTrigger(deps, { job: disabled, trigger: "schedule", scheduledFor: new Date("2026-11-24T14:00:00Z"), budgetMs: 60_000 })).toMatchObject({ kind: "skipped", reason: "disabled" });
    expect(ran(await runTrigger(deps, { job: disabled, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })).status).toBe("completed");
    const paused = job();
    await ctx.db.execute(sql`INSERT INTO cron_job_config (job_name, paused) VALUES (${paused.name}, true)`);
    expect(await runTrigger(deps, { job: paused, trigger: "schedule", scheduledFor: new Date("2026-11-24T14:00:00Z"), budgetMs: 60_000 })).toMatchObject({ kind: "skipped", reason: "paused" });
    const dead = job();
    await ctx.db.execute(sql`INSERT INTO cron_job_config (job_name, dead_lettered) VALUES (${dead.name}, true)`);
    expect(await runTrigger(deps, { job: dead, trigger: "schedule", scheduledFor: new Date("2026-11-24T14:00:00Z"), budgetMs: 60_000 })).toMatchObject({ kind: "skipped", reason: "dead_lettered" });
    const toggled = job();
    await ctx.db.execute(sql`SELECT toggle_cron_job(${toggled.name}, false, 'admin')`);
    expect(await runTrigger(deps, { job: toggled, trigger: "schedule", scheduledFor: new Date("2026-11-24T14:00:00Z"), budgetMs: 60_000 })).toMatchObject({ kind: "skipped", reason: "disabled" });
  });

  it("treats a repeated Idempotency-Key as a duplicate", async () => {
    const j = job();
    expect(ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, idempotencyKey: "abc", budgetMs: 60_000 })).status).toBe("completed");
    expect(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, idempotencyKey: "abc", budgetMs: 60_000 })).toMatchObject({ kind: "skipped", reason: "duplicate" });
    expect(ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })).status).toBe("completed");
  });

  it("gives the run a caller-chosen id, so 'run now' can answer with it before the run", async () => {
    const j = job();
    const id = crypto.randomUUID();
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, runId: id, budgetMs: 60_000 }));
    expect(run.id).toBe(id);
    expect((await rowsOf(j.name))[0].id).toBe(id);
  });
});
