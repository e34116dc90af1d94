import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { z } from "zod";
import { cancelBackfillNow, previewBackfill, requireBackfill, runBackfillNow, startBackfill } from "@/lib/app/operations/backfills";
import type { OperationDeps } from "@/lib/app/operations/deps";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { OperationError } from "@/lib/cron/errors";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger } from "@/lib/cron/run-job";
import type { Actor } from "@/lib/cron/vocabulary";
import { PgBackfillStore } from "@/lib/db/commands/backfills";
import { queryRows } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

/**
 * Backfills on both databases: the dry run writes nothing; a start writes the row and its audit
 * row; the runner's slots are runs with trigger backfill keyed by their slot; a dead runner's
 * backfill is taken over by one of two concurrent resumers, each slot run once; the old holder's
 * writes are refused; one running backfill per job; cancel.
 */

const HOUR = 3_600_000;
const admin: Actor = { name: "admin", via: "bearer", ip: "203.0.113.7" };
let counter = 0;

describeOnDatabases("backfills", (ctx) => {
  const calls = new Map<string, string[]>();
  const job = (): JobDefinition => {
    const name = `bf-${process.pid}-${++counter}`;
    calls.set(name, []);
    return defineJob({ name, schedule: "0 * * * *", handler: (c) => void calls.get(name)!.push(c.scheduledFor!.toISOString()) });
  };
  const deps = (...jobs: JobDefinition[]): OperationDeps => ({
    db: ctx.db,
    registry: new JobRegistry(jobs),
    engine: { runs: new PostgresRunStore(ctx.db), holder: "test-host:1", codeVersion: "v1", settleGraceMs: 50 },
  });
  /** The last `n` full hours before now. */
  const range = (n: number) => {
    const last = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
    return { from: new Date(last - (n - 1) * HOUR), to: new Date(last) };
  };
  const runsOf = (name: string) =>
    queryRows<{ trigger: string; dedupe_key: string | null; status: string; actor: string | null }>(
      ctx.db,
      sql`SELECT trigger, dedupe_key, status, actor FROM cron_job_logs WHERE job_name = ${name} ORDER BY scheduled_for, started_at`,
    );
  const auditOf = (name: string) => queryRows<{ action: string; actor: string; detail: Record<string, unknown> }>(ctx.db, sql`SELECT action, actor, detail FROM cron_audit_log WHERE target = ${name} ORDER BY id`);
  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(OperationError);
    return e as OperationError;
  };

  it("the dry run lists the slots and writes nothing; the backfill runs them as trigger backfill, audited, and the plan then shows them taken", async () => {
    const j = job();
    const d = deps(j);
    const { from, to } = range(3);
    const plan = await previewBackfill(d, { job: j, from, to, overlap: "skip" });
    expect(plan.slots.map((s) => [s.slot, s.run, s.willRun])).toEqual([0, 1, 2].map((i) => [new Date(from.getTime() + i * HOUR).toISOString(), null, true]));
    expect(await queryRows(ctx.db, sql`SELECT id FROM cron_backfills WHERE job_name = ${j.name}`)).toEqual([]);
    expect(await auditOf(j.name)).toEqual([]);

    const { backfill } = await startBackfill(d, admin, { job: j, from, to, overlap: "skip" });
    expect(backfill).toMatchObject({ status: "running", nextIndex: 0, actor: "admin" });
    expect(backfill!.slots.map((s) => s.toISOString())).toEqual(plan.slots.map((s) => s.slot));
    expect(await auditOf(j.name)).toEqual([{ action: "job.backfill", actor: "admin", detail: expect.objectContaining({ backfillId: backfill!.id, slots: 3, overlap: "skip", via: "bearer" }) }]);

    const result = await runBackfillNow(d, backfill!.id, { budgetMs: 60_000 });
    expect(result).toMatchObject({ kind: "done", backfill: { status: "completed", ran: 3, completed: 3, nextIndex: 3, runnerHolder: null } });
    expect(await runsOf(j.name)).toEqual(plan.slots.map((s) => ({ trigger: "backfill", dedupe_key: `slot:${s.slot}`, status: "completed", actor: "admin" })));
    const again = await previewBackfill(d, { job: j, from, to, overlap: "skip" });
    expect(again.slots.map((s) => [s.taken, s.run?.status, s.run?.trigger])).toEqual([0, 1, 2].map(() => [true, "completed", "backfill"]));
    expect((await startBackfill(d, admin, { job: j, from, to, overlap: "skip" })).backfill).toBeNull();
  });

  it("a dead runner's backfill: two resumers at once, one takes it over and finishes, each slot runs once; the dead holder's writes are refused", async () => {
    const j = job();
    const d = deps(j);
    const { from, to } = range(4);
    const { backfill } = await startBackfill(d, admin, { job: j, from, to, overlap: "skip" });
    const store = new PgBackfillStore(ctx.db);
    // A runner takes it with a 1 ms lease, runs the first slot and dies before moving its cursor.
    expect(await store.acquire(backfill!.id, "dead-runner", 1)).not.toBeNull();
    await runTrigger(d.engine, { job: j, trigger: "backfill", scheduledFor: backfill!.slots[0], actor: "admin", budgetMs: 30_000 });
    await new Promise((r) => setTimeout(r, 20));
    const [a, b] = await Promise.all([runBackfillNow(d, backfill!.id, { budgetMs: 60_000 }), runBackfillNow(d, backfill!.id, { budgetMs: 60_000 })]);
    expect([a.kind, b.kind].sort()).toEqual(["busy", "done"]);
    expect(await requireBackfill(d, backfill!.id)).toMatchObject({ status: "completed", ran: 4, completed: 4, nextIndex: 4 });
    expect(calls.get(j.name)).toEqual(backfill!.slots.map((s) => s.toISOString()));
    expect(await runsOf(j.name)).toHaveLength(4);
    expect(await store.advance(backfill!.id, "dead-runner", 0, { ran: 1, completed: 1, failed: 0, skipped: 0, runId: null }, 60_000)).toBeNull();
    expect(await store.heartbeat(backfill!.id, "dead-runner", 60_000)).toBe(false);
  });

  it("one running backfill per job (409); cancel without a live runner ends it now, audited; cancelling again is 409, an unknown id 404", async () => {
    const j = job();
    const d = deps(j);
    const { from, to } = range(2);
    const { backfill } = await startBackfill(d, admin, { job: j, from, to, overlap: "all" });
    expect(await refusal(startBackfill(d, admin, { job: j, from, to, overlap: "all" }))).toMatchObject({ kind: "conflict", code: "backfill_running" });
    const cancelled = await cancelBackfillNow(d, { name: "cli:ops", via: "cli", ip: null }, backfill!.id);
    expect(cancelled).toMatchObject({ status: "cancelled", cancelledBy: "cli:ops", nextIndex: 0 });
    expect((await auditOf(j.name)).map((r) => [r.action, r.actor])).toEqual([["job.backfill", "admin"], ["job.backfill_cancel", "cli:ops"]]);
    expect(await refusal(cancelBackfillNow(d, admin, backfill!.id))).toMatchObject({ kind: "conflict", code: "backfill_ended" });
    expect(await refusal(cancelBackfillNow(d, admin, "0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f"))).toMatchObject({ kind: "not_found" });
    expect(await runBackfillNow(d, backfill!.id, { budgetMs: 60_000 })).toEqual({ kind: "busy" });
    expect(calls.get(j.name)).toEqual([]);
  });

  it("cancel with a live runner: it stops before its next slot, the slot in flight finishes", async () => {
    const name = `bf-${process.pid}-${++counter}`;
    const seen: string[] = [];
    let id = "";
    const d0 = deps();
    const j = defineJob({
      name,
      schedule: "0 * * * *",
      handler: async (c) => {
        seen.push(c.scheduledFor!.toISOString());
        if (seen.length === 2) await cancelBackfillNow(d0, admin, id);
      },
    });
    const d = deps(j);
    const { from, to } = range(4);
    id = (await startBackfill(d, admin, { job: j, from, to, overlap: "skip" })).backfill!.id;
    const result = await runBackfillNow(d, id, { budgetMs: 60_000 });
    expect(result).toMatchObject({ kind: "done", backfill: { status: "cancelled", nextIndex: 2, completed: 2, cancelledBy: "admin" } });
    expect(seen).toHaveLength(2);
  });

  it("runs every slot with the backfill's input, checked by the job's schema first (a bad one is refused naming the field, nothing written)", async () => {
    const name = `bf-${process.pid}-${++counter}`;
    const got: unknown[] = [];
    const j = defineJob({ name, schedule: "0 * * * *", input: z.object({ days: z.number().int() }), defaultInput: { days: 1 }, handler: (c) => void got.push(c.input) });
    const d = deps(j);
    const { from, to } = range(2);
    expect(await refusal(startBackfill(d, admin, { job: j, from, to, overlap: "skip", runInput: { days: "x" } }))).toMatchObject({ kind: "invalid", field: "input.days" });
    expect(await refusal(previewBackfill(d, { job: j, from, to, overlap: "skip", runInput: { days: "x" } }))).toMatchObject({ field: "input.days" });
    expect(await queryRows(ctx.db, sql`SELECT id FROM cron_backfills WHERE job_name = ${name}`)).toEqual([]);
    const { backfill } = await startBackfill(d, admin, { job: j, from, to, overlap: "skip", runInput: { days: 30 } });
    expect(backfill!.input).toEqual({ days: 30 });
    await runBackfillNow(d, backfill!.id, { budgetMs: 60_000 });
    expect(got).toEqual([{ days: 30 }, { days: 30 }]);
    expect(await queryRows(ctx.db, sql`SELECT input FROM cron_job_logs WHERE job_name = ${name}`)).toEqual([{ input: { days: 30 } }, { input: { days: 30 } }]);
  });
});
