import { beforeEach, describe, expect, it } from "vitest";
import { MAX_BACKFILL_SLOTS, backfillSlots, planBackfill } from "@/lib/backfill/plan";
import { BACKFILL_LEASE_MS, resumeBackfills, runBackfill, type BackfillRunnerDeps } from "@/lib/backfill/runner";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { OperationError } from "@/lib/cron/errors";
import { runTrigger, type EngineDeps } from "@/lib/cron/run-job";
import { MemoryBackfillStore } from "../support/memory-backfill-store";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * Backfills on a fake clock: the plan's exact slots (across DST changes), which slots overlap
 * skip leaves out, the runner one slot at a time through the engine, a crash mid-way resumed
 * once the lease expires (each slot runs once), cancel before the next slot, the budget.
 */

const HOUR = 3_600_000;
const START = Date.parse("2026-11-24T10:00:00Z");
const NOW = new Date(START);

let clock: ManualClock;
let runs: MemoryRunStore;
let store: MemoryBackfillStore;
let engine: EngineDeps;
/** Each handler call, by slot. */
let calls: string[];
let holders = 0;

const serverNow = () => START + clock.elapsed;

beforeEach(() => {
  clock = new ManualClock(new Date(START).toISOString());
  runs = new MemoryRunStore(serverNow);
  store = new MemoryBackfillStore(runs, serverNow);
  engine = { runs, holder: "test-host:1", codeVersion: "v1", clock, warn: () => {} };
  calls = [];
});

const hourly = (config: Partial<JobConfig> = {}): JobDefinition =>
  defineJob({
    name: "bf-hourly",
    schedule: "0 * * * *",
    timeout: "30s",
    handler: (ctx) => {
      calls.push(ctx.scheduledFor!.toISOString());
    },
    ...config,
  });
const slotsFrom = (first: string, n: number) => Array.from({ length: n }, (_, i) => new Date(Date.parse(first) + i * HOUR));
const runner = (job: JobDefinition, extra: Partial<BackfillRunnerDeps> = {}): BackfillRunnerDeps => ({
  store, engine, jobOf: (name) => (name === job.name ? job : null), holder: `runner-${++holders}`, ...extra,
});
const rowsOf = (jobName: string) => [...runs.runs.values()].filter((r) => r.jobName === jobName);

describe("the plan", () => {
  it("lists the exact slots in [from, to], both ends included", () => {
    const slots = backfillSlots(hourly(), new Date("2026-11-20T00:00:00Z"), new Date("2026-11-20T03:00:00Z"), NOW);
    expect(slots.map((s) => s.toISOString())).toEqual(["2026-11-20T00:00:00.000Z", "2026-11-20T01:00:00.000Z", "2026-11-20T02:00:00.000Z", "2026-11-20T03:00:00.000Z"]);
  });

  it("follows a timezone job across both DST changes: the skipped hour runs once after the jump, the repeated hour once", () => {
    const job = defineJob({ name: "bf-berlin", schedule: { cron: "30 2 * * *", timezone: "Europe/Berlin" }, handler: () => {} });
    const later = new Date("2026-12-01T00:00:00Z");
    // 29 March: 02:30 does not exist (02:00 -> 03:00 CEST): the slot is 03:30 CEST = 01:30Z.
    expect(backfillSlots(job, new Date("2026-03-27T00:00:00Z"), new Date("2026-03-31T00:00:00Z"), later).map((s) => s.toISOString())).toEqual([
      "2026-03-27T01:30:00.000Z", "2026-03-28T01:30:00.000Z", "2026-03-29T01:30:00.000Z", "2026-03-30T00:30:00.000Z",
    ]);
    // 25 October: 02:30 happens twice (CEST, then CET): one slot, the first.
    expect(backfillSlots(job, new Date("2026-10-23T00:00:00Z"), new Date("2026-10-27T00:00:00Z"), later).map((s) => s.toISOString())).toEqual([
      "2026-10-23T00:30:00.000Z", "2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z",
    ]);
  });

  it("refuses, naming the field: from not before to, to in the future, an invalid instant, more slots than the limit", () => {
    const job = hourly();
    const refusal = (from: string, to: string) => {
      try {
        backfillSlots(job, new Date(from), new Date(to), NOW);
      } catch (error) {
        expect(error).toBeInstanceOf(OperationError);
        return { field: (error as OperationError).field, message: (error as Error).message };
      }
      throw new Error("expected a refusal");
    };
    expect(refusal("2026-11-20T03:00:00Z", "2026-11-20T03:00:00Z")).toMatchObject({ field: "to", message: expect.stringContaining("must be after from") });
    expect(refusal("2026-11-24T09:00:00Z", "2026-11-24T11:00:00Z")).toMatchObject({ field: "to", message: expect.stringContaining("future") });
    expect(refusal("nope", "2026-11-20T03:00:00Z")).toMatchObject({ field: "from" });
    // 1,001 hourly slots: 1,000 hours after the first, both ends included.
    const from = Date.parse("2026-09-01T00:00:00Z");
    expect(backfillSlots(job, new Date(from), new Date(from + (MAX_BACKFILL_SLOTS - 1) * HOUR), NOW)).toHaveLength(MAX_BACKFILL_SLOTS);
    expect(refusal(new Date(from).toISOString(), new Date(from + MAX_BACKFILL_SLOTS * HOUR).toISOString())).toMatchObject({
      field: "to", message: expect.stringContaining(`more than ${MAX_BACKFILL_SLOTS} slots`),
    });
  });

  it("overlap skip leaves out slots with a keyed run (even a failed one); a slot skipped before any claim runs; overlap all runs every slot", async () => {
    const job = hourly({ handler: (ctx) => { if (ctx.scheduledFor!.getUTCHours() === 1) throw new Error("boom"); } });
    const [s0, s1, s2, s3] = slotsFrom("2026-11-20T00:00:00Z", 4);
    await clock.run(runTrigger(engine, { job, trigger: "schedule", scheduledFor: s0, budgetMs: 60_000 }));
    await clock.run(runTrigger(engine, { job, trigger: "schedule", scheduledFor: s1, budgetMs: 60_000 }));
    runs.states.set(job.name, { paused: true });
    await clock.run(runTrigger(engine, { job, trigger: "schedule", scheduledFor: s2, budgetMs: 60_000 }));
    runs.states.delete(job.name);
    const request = { from: s0, to: s3, overlap: "skip" as const };
    const plan = await planBackfill(store, job, request, NOW);
    expect(plan.slots.map((s) => [s.slot, s.run?.status ?? null, s.taken, s.willRun])).toEqual([
      [s0.toISOString(), "completed", true, false],
      [s1.toISOString(), "failed", true, false],
      [s2.toISOString(), "skipped", false, true],
      [s3.toISOString(), null, false, true],
    ]);
    expect(plan.toRun).toEqual([s2, s3]);
    expect((await planBackfill(store, job, { ...request, overlap: "all" }, NOW)).toRun).toEqual([s0, s1, s2, s3]);
  });
});

describe("the runner", () => {
  it("runs the slots one at a time, oldest first, as trigger backfill with the backfill's actor, and completes", async () => {
    const job = hourly();
    const slots = slotsFrom("2026-11-20T00:00:00Z", 3);
    const bf = store.create({ jobName: job.name, slots, actor: "admin" });
    const result = await clock.run(runBackfill(runner(job), bf.id, { budgetMs: 300_000 }));
    expect(result).toMatchObject({ kind: "done", backfill: { status: "completed", nextIndex: 3, ran: 3, completed: 3, failed: 0, skipped: 0 } });
    expect(calls).toEqual(slots.map((s) => s.toISOString()));
    expect(rowsOf(job.name).map((r) => [r.trigger, r.dedupeKey, r.actor])).toEqual(slots.map((s) => ["backfill", `slot:${s.toISOString()}`, "admin"]));
    expect(store.rows.get(bf.id)!.runnerHolder).toBeNull();
  });

  it("overlap skip never runs a slot twice: a slot that ran after the plan (a Vercel delivery) is counted, not run", async () => {
    const job = hourly();
    const slots = slotsFrom("2026-11-20T00:00:00Z", 2);
    const bf = store.create({ jobName: job.name, slots });
    await clock.run(runTrigger(engine, { job, trigger: "schedule", scheduledFor: slots[1], budgetMs: 60_000 }));
    const result = await clock.run(runBackfill(runner(job), bf.id, { budgetMs: 300_000 }));
    expect(result).toMatchObject({ kind: "done", backfill: { ran: 2, completed: 2 } });
    // The schedule's run of the second slot, then the backfill's of the first: the second never again.
    expect(calls).toEqual([slots[1].toISOString(), slots[0].toISOString()]);
    expect(rowsOf(job.name)).toHaveLength(2);
  });

  it("overlap all runs a slot again beside its run, keyed by the backfill and the slot", async () => {
    const job = hourly();
    const [slot] = slotsFrom("2026-11-20T00:00:00Z", 1);
    await clock.run(runTrigger(engine, { job, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 }));
    const bf = store.create({ jobName: job.name, slots: [slot], overlap: "all" });
    await clock.run(runBackfill(runner(job), bf.id, { budgetMs: 300_000 }));
    expect(calls).toEqual([slot.toISOString(), slot.toISOString()]);
    expect(rowsOf(job.name).map((r) => r.dedupeKey)).toEqual([`slot:${slot.toISOString()}`, `backfill:${bf.id}:${slot.toISOString()}`]);
  });

  it("runs even while the job is paused (an operator trigger), with the normal retries and failure rules", async () => {
    let n = 0;
    const job = hourly({ retries: 1, backoff: { strategy: "fixed", delay: "1s", jitter: false }, handler: () => { if (n++ === 0) throw new Error("first try fails"); } });
    runs.states.set(job.name, { paused: true });
    const bf = store.create({ jobName: job.name, slots: slotsFrom("2026-11-20T00:00:00Z", 1) });
    const result = await clock.run(runBackfill(runner(job), bf.id, { budgetMs: 300_000 }));
    expect(result).toMatchObject({ kind: "done", backfill: { ran: 1, completed: 1 } });
    expect(rowsOf(job.name)[0]).toMatchObject({ status: "completed", attempts: 2 });
  });

  it("a crash after a slot's claim: the lease expires, the tick's resume counts that slot without running it, and goes on", async () => {
    const job = hourly();
    const slots = slotsFrom("2026-11-20T00:00:00Z", 4);
    const bf = store.create({ jobName: job.name, slots });
    // The runner dies right after the third slot ran, before its cursor moved.
    const realAdvance = store.advance.bind(store);
    let advances = 0;
    store.advance = async (...args) => {
      if (++advances === 3) throw new Error("process killed");
      return realAdvance(...args);
    };
    const died = await clock.run(runBackfill(runner(job), bf.id, { budgetMs: 300_000 }).then(() => null, (error: Error) => error));
    expect(died?.message).toBe("process killed");
    store.advance = realAdvance;
    expect(store.rows.get(bf.id)).toMatchObject({ nextIndex: 2, status: "running" });
    // While the dead runner's lease lasts, nobody takes over.
    expect(await resumeBackfills({ ...runner(job), holder: () => "tick-early" }, { budgetMs: 300_000 })).toEqual([]);
    await clock.advance(BACKFILL_LEASE_MS);
    const [resumed] = await clock.run(resumeBackfills({ ...runner(job), holder: () => "tick" }, { budgetMs: 300_000 }));
    expect(resumed).toMatchObject({ kind: "done", backfill: { status: "completed", nextIndex: 4, ran: 4, completed: 4 } });
    expect(calls).toEqual(slots.map((s) => s.toISOString()));
    expect(rowsOf(job.name)).toHaveLength(4);
  });

  it("heartbeats its lease while a long slot runs: another runner cannot take the backfill over", async () => {
    const job = hourly({ timeout: "5m", handler: () => new Promise<void>((resolve) => clock.setTimeout(() => resolve(), 150_000)) });
    const bf = store.create({ jobName: job.name, slots: slotsFrom("2026-11-20T00:00:00Z", 1) });
    const first = runBackfill(runner(job), bf.id, { budgetMs: 600_000 });
    await clock.advance(120_000);
    expect(await runBackfill(runner(job), bf.id, { budgetMs: 600_000 })).toEqual({ kind: "busy" });
    expect(await clock.run(first)).toMatchObject({ kind: "done", backfill: { status: "completed" } });
  });

  it("cancel stops before the next slot; the slot in flight finishes", async () => {
    const slots = slotsFrom("2026-11-20T00:00:00Z", 4);
    let id = "";
    const job = hourly({
      handler: (ctx) => {
        calls.push(ctx.scheduledFor!.toISOString());
        if (calls.length === 2) store.requestCancel(id, "admin");
      },
    });
    id = store.create({ jobName: job.name, slots }).id;
    const result = await clock.run(runBackfill(runner(job), id, { budgetMs: 300_000 }));
    expect(result).toMatchObject({ kind: "done", backfill: { status: "cancelled", nextIndex: 2, completed: 2, cancelledBy: "admin" } });
    expect(calls).toEqual(slots.slice(0, 2).map((s) => s.toISOString()));
  });

  it("stops starting slots when the budget would not fit one, frees its lease, and the next turn goes on", async () => {
    const job = hourly({ timeout: "20s", handler: (ctx) => new Promise<void>((resolve) => clock.setTimeout(() => { calls.push(ctx.scheduledFor!.toISOString()); resolve(); }, 15_000)) });
    const slots = slotsFrom("2026-11-20T00:00:00Z", 3);
    const bf = store.create({ jobName: job.name, slots });
    // 40 s: the first slot (15 s) leaves 25 s, enough for a 20 s timeout; the second leaves 10 s.
    const turn = await clock.run(runBackfill(runner(job), bf.id, { budgetMs: 40_000 }));
    expect(turn).toMatchObject({ kind: "paused", why: "budget", backfill: { nextIndex: 2 } });
    expect(store.rows.get(bf.id)!.runnerHolder).toBeNull();
    const [next] = await clock.run(resumeBackfills({ ...runner(job), holder: () => "tick" }, { budgetMs: 300_000 }));
    expect(next).toMatchObject({ kind: "done", backfill: { status: "completed", ran: 3 } });
    expect(calls).toEqual(slots.map((s) => s.toISOString()));
  });

  it("fails a backfill whose job left the registry", async () => {
    const job = hourly();
    const bf = store.create({ jobName: "gone-job", slots: slotsFrom("2026-11-20T00:00:00Z", 1) });
    expect(await runBackfill(runner(job), bf.id, { budgetMs: 60_000 })).toMatchObject({ kind: "done", backfill: { status: "failed", error: expect.stringContaining("gone-job") } });
  });
});
