import { expect, it } from "vitest";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps } from "@/lib/cron/run-job";
import { jitterDelayMs, type DispatchRequest } from "@/lib/cron/tick";
import { queryRows } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { runTick, type Dispatcher } from "@/lib/app/tick";
import { sql } from "drizzle-orm";
import { ManualClock } from "../support/memory-run-store";
import { describeOnDatabases } from "../support/db";

/**
 * The tick over the real store (PostgresTickStore and the engine's claim, on PGlite and the
 * Postgres server) for interval, one-time and bounded jobs and jitter, on a fake clock: each
 * slot runs once through the claim with scheduled_for = the slot, nothing outside a window is
 * dispatched or missed, a one-time slot the tick missed is recorded missed and caught up once,
 * and a jittered slot is sent at its predicted delay while its run keeps the slot as scheduled_for.
 */

const MIN = 60_000;
let counter = 0;
const unique = (name: string) => `${name}-${++counter}-${process.pid}`;

describeOnDatabases("the tick dispatches interval, one-time and bounded jobs", (ctx) => {
  /** A tick world over the database: the dispatcher claims through the real engine at the engine clock's time. */
  function world(jobs: JobDefinition[], clock = new ManualClock("2026-11-24T00:00:00Z")) {
    const registry = new JobRegistry(jobs);
    const deps: EngineDeps = { runs: new PostgresRunStore(ctx.db), holder: "tick-schedules:1", codeVersion: null, settleGraceMs: 50, clock };
    const calls: DispatchRequest[] = [];
    /** The fake clock's time at each dispatch (the claim's started_at is the database's own now()). */
    const sentAt = new Map<string, number>();
    const dispatch: Dispatcher = async (request) => {
      calls.push(request);
      sentAt.set(request.jobName, clock.now());
      if (request.trigger === "retry") return { request, status: 400 };
      const outcome = await runTrigger(deps, { job: registry.get(request.jobName)!, trigger: request.trigger, scheduledFor: request.slot, budgetMs: 60_000 });
      return { request, status: outcome.kind === "ran" ? 200 : 409 };
    };
    /** One tick at `at`; the fake timers (jitter) advance half a second per real yield until it is done. */
    const tick = async (at: number) => {
      clock.step(at - clock.now());
      let done = false;
      const report = runTick({ db: ctx.db, registry, dispatch, plan: "pro", holder: "tick-schedules", now: new Date(at), timers: clock }).finally(() => void (done = true));
      for (let i = 0; i < 400 && !done; i++) {
        await new Promise((r) => setTimeout(r, 2));
        if (clock.pending > 0) await clock.advance(500);
      }
      return report;
    };
    const rows = (name: string) =>
      queryRows<{ status: string; trigger: string; scheduled_for: Date | string | null; started_at: Date | string }>(
        ctx.db,
        sql`SELECT status, trigger, scheduled_for, started_at FROM cron_job_logs WHERE job_name = ${name} ORDER BY scheduled_for, id`,
      );
    return { tick, calls, rows, clock, sentAt };
  }
  const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
  async function walk(tick: (at: number) => Promise<unknown>, from: string, to: string) {
    for (let t = Date.parse(from); t <= Date.parse(to); t += MIN) await tick(t + 5_000);
  }

  it("an interval job: every grid slot once, claimed with its slot; a bounded one only inside its window", async () => {
    const interval = defineJob({ name: unique("it-every"), schedule: { every: "45m", offset: "5m" }, timeout: "5s", handler: () => "ok" });
    const bounded = defineJob({ name: unique("it-bounded"), schedule: { every: "20m" }, startAt: "2026-11-24T01:00:00Z", endAt: "2026-11-24T01:40:00Z", timeout: "5s", handler: () => "ok" });
    const { tick, rows } = world([interval, bounded]);
    await walk(tick, "2026-11-24T00:00:00Z", "2026-11-24T03:00:00Z");
    expect((await rows(interval.name)).map((r) => [r.status, r.trigger, iso(r.scheduled_for)])).toEqual(
      ["00:05", "00:50", "01:35", "02:20"].map((t) => ["completed", "tick", `2026-11-24T${t}:00.000Z`]),
    );
    expect((await rows(bounded.name)).map((r) => [r.status, iso(r.scheduled_for)])).toEqual(["01:00", "01:20", "01:40"].map((t) => ["completed", `2026-11-24T${t}:00.000Z`]));
  });

  it("a one-time job the tick missed is recorded missed and caught up once; afterwards nothing", async () => {
    const once = defineJob({ name: unique("it-once"), runAt: "2026-11-24T05:00:00Z", missed: "once", timeout: "5s", handler: () => "ok" });
    const { tick, rows, calls } = world([once]);
    await tick(Date.parse("2026-11-24T04:50:00Z"));
    await walk(tick, "2026-11-24T05:10:00Z", "2026-11-24T05:15:00Z");
    const got = (await rows(once.name)).map((r) => [r.status, r.trigger, iso(r.scheduled_for)]);
    expect(got).toHaveLength(2);
    expect(got).toEqual(expect.arrayContaining([["missed", "tick", "2026-11-24T05:00:00.000Z"], ["completed", "catchup", "2026-11-24T05:00:00.000Z"]]));
    expect(calls.filter((c) => c.jobName === once.name).map((c) => c.trigger)).toEqual(["catchup"]);
  });

  it("a jittered job's slot is dispatched at its predicted delay (never before) and its run keeps the slot as scheduled_for", async () => {
    const jobs = Array.from({ length: 20 }, () => defineJob({ name: unique("it-jitter"), schedule: "0 * * * *", dispatch: "tick", jitter: "30s", timeout: "5s", handler: () => "ok" }));
    const { tick, rows, sentAt } = world(jobs, new ManualClock("2026-11-24T08:00:00Z"));
    const slot = new Date("2026-11-24T09:00:00Z");
    await tick(slot.getTime());
    const delays: number[] = [];
    for (const job of jobs) {
      const [row] = await rows(job.name);
      expect([row.status, iso(row.scheduled_for)], job.name).toEqual(["completed", slot.toISOString()]);
      // Sent within the half-second step after its predicted delay, never before it.
      const delay = sentAt.get(job.name)! - slot.getTime();
      const predicted = jitterDelayMs(job.name, slot, 30_000);
      expect(delay, job.name).toBeGreaterThanOrEqual(predicted);
      expect(delay, job.name).toBeLessThan(predicted + 500);
      delays.push(delay);
    }
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(10_000);
  });
});
