import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import { dependencyGate, dependencyView, queueDependentsAfter } from "@/lib/cron/dependencies";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import type { RunTrigger } from "@/lib/cron/vocabulary";
import { queryRows } from "@/lib/db/client";
import { PostgresUpstreamSource } from "@/lib/db/queries/dependencies";
import { PostgresRunStore } from "@/lib/db/run-store";
import { PostgresTickStore } from "@/lib/db/tick-store";
import { describeOnDatabases } from "../support/db";

/**
 * Job dependencies on PGlite and the Postgres server: the upstream query (lib/db/queries/
 * dependencies.ts) behind the engine's gate with real runs, the requeue of a slot skipped
 * upstream_failed after the upstream's replay succeeds (lib/db/tick-store.ts) and its catch-up,
 * the tick's dispatch seeing that skip as the slot's, and the view the API and CLI answer with.
 */

const SLOT = new Date("2026-11-24T10:00:00Z");
const NOW = Date.parse("2026-11-24T10:00:30Z");

describeOnDatabases("job dependencies", (ctx) => {
  let extract: JobDefinition;
  let transform: JobDefinition;
  let registry: JobRegistry;
  let deps: EngineDeps;
  let source: PostgresUpstreamSource;
  let extractFails: boolean;

  beforeEach(() => {
    const id = randomUUID().slice(0, 8);
    extractFails = false;
    extract = defineJob({ name: `extract-${id}`, schedule: "0 10 * * *", retries: 0, handler: async (c) => {
      if (extractFails && c.trigger !== "replay") throw new Error("no export yet");
      return 1;
    } }) as JobDefinition;
    transform = defineJob({ name: `transform-${id}`, schedule: "0 10 * * *", dependsOn: [extract.name], handler: async () => 2 }) as JobDefinition;
    registry = new JobRegistry([extract, transform]);
    source = new PostgresUpstreamSource(ctx.db);
    deps = {
      runs: new PostgresRunStore(ctx.db), holder: "deps-host:1", codeVersion: "v1", settleGraceMs: 100,
      gate: dependencyGate({ source, registry: () => registry, clock: { now: () => NOW }, options: { pendingMs: 3 * 60_000 } }),
    };
  });

  const fire = (job: JobDefinition, trigger: RunTrigger = "tick", scheduledFor: Date | null = SLOT) => runTrigger(deps, { job, trigger, scheduledFor, budgetMs: 60_000 });
  const kindOf = (o: TriggerOutcome) => (o.kind === "skipped" ? `skipped:${o.reason}` : o.kind === "ran" ? `ran:${o.run.status}` : "waiting");
  const rowsOf = (name: string) =>
    queryRows<{ status: string; skip_reason: string | null; trigger: string; next_retry_at: Date | string | null }>(
      ctx.db, sql`SELECT status, skip_reason, trigger, next_retry_at FROM cron_job_logs WHERE job_name = ${name} ORDER BY started_at, id`,
    );

  it("waits while the upstream's run is started, for a retry, or a queued catch-up; runs once it completed", async () => {
    const claim = await deps.runs.claim({
      jobName: extract.name, trigger: "schedule", scheduledFor: SLOT, dedupeKey: `slot:${SLOT.toISOString()}`, overlap: "skip", enabledByDefault: true, checkState: true, leaseMs: 60_000, holder: "other:1", codeVersion: "v1", actor: null,
    });
    expect(claim.outcome).toBe("claimed");
    const waiting = await fire(transform);
    expect(waiting).toMatchObject({ kind: "waiting", reason: "upstream_pending" });
    expect((waiting as { message: string }).message).toMatch(/^waiting for extract-\w+ \(running since \d\d:\d\d:\d\d\)$/);
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'retry_scheduled', next_retry_at = now() WHERE job_name = ${extract.name}`);
    expect(kindOf(await fire(transform))).toBe("waiting");
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'missed', next_retry_at = now() WHERE job_name = ${extract.name}`);
    expect(kindOf(await fire(transform))).toBe("waiting");
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'completed', next_retry_at = NULL, completed_at = now() WHERE job_name = ${extract.name}`);
    expect(kindOf(await fire(transform))).toBe("ran:completed");
    expect(await rowsOf(transform.name)).toMatchObject([{ status: "completed", trigger: "tick" }]);
  });

  it("a missed upstream slot with no catch-up is failed for good", async () => {
    await new PostgresTickStore(ctx.db).recordMissedSlots(extract.name, [SLOT], "tick");
    expect(kindOf(await fire(transform))).toBe("skipped:upstream_failed");
  });

  it("skips upstream_failed once; the replay's success queues the slot, which the catch-up runs and then leaves the queue", async () => {
    extractFails = true;
    expect(kindOf(await fire(extract))).toBe("ran:failed");
    expect(kindOf(await fire(transform))).toBe("skipped:upstream_failed");
    expect(kindOf(await fire(transform))).toBe("skipped:duplicate");
    expect((await rowsOf(transform.name)).map((r) => r.skip_reason)).toEqual(["upstream_failed", "duplicate"]);

    const store = new PostgresTickStore(ctx.db);
    // The tick's dispatch sees the slot as taken: a second try would only be skipped again.
    expect(await store.claimedSlots([{ jobName: transform.name, slot: SLOT }])).toEqual([{ jobName: transform.name, slot: SLOT }]);
    expect(await store.nextPendingCatchUp(transform.name, new Date(NOW))).toBeNull();

    const replay = await fire(extract, "replay");
    expect(kindOf(replay)).toBe("ran:completed");
    const queued = await queueDependentsAfter((replay as Extract<TriggerOutcome, { kind: "ran" }>).run, extract, registry, (name, slots) => store.requeueUpstreamFailed(name, slots, new Date(NOW)));
    expect(queued).toBe(1);
    // Asked twice (a second observer call): queued once.
    expect(await store.requeueUpstreamFailed(transform.name, [SLOT], new Date(NOW))).toBe(0);
    const due = await store.nextPendingCatchUp(transform.name, new Date(NOW + 1_000));
    expect(due?.toISOString()).toBe(SLOT.toISOString());
    expect(kindOf(await fire(transform, "catchup", due))).toBe("ran:completed");
    expect(await store.nextPendingCatchUp(transform.name, new Date(NOW + 2_000))).toBeNull();
    expect((await rowsOf(transform.name)).map((r) => `${r.status}:${r.trigger}`)).toEqual(["skipped:tick", "skipped:tick", "completed:catchup"]);
  });

  it("reads many (job, slot) pairs in one statement, including pairs with no rows", async () => {
    await fire(extract);
    const other = new Date("2026-11-23T10:00:00Z");
    const rows = await source.slotRows([
      { jobName: extract.name, slot: SLOT },
      { jobName: extract.name, slot: other },
      { jobName: transform.name, slot: SLOT },
    ]);
    const byKey = new Map(rows.map((r) => [`${r.jobName} ${r.slot.toISOString()}`, r]));
    expect(byKey.get(`${extract.name} ${SLOT.toISOString()}`)).toMatchObject({ rows: 1, slotClaimed: true, pendingSince: null, lastFailure: null });
    expect(byKey.get(`${extract.name} ${SLOT.toISOString()}`)!.completedAt).toBeInstanceOf(Date);
    expect(byKey.get(`${extract.name} ${other.toISOString()}`)).toMatchObject({ rows: 0, completedAt: null, slotClaimed: false });
    expect(byKey.get(`${transform.name} ${SLOT.toISOString()}`)).toMatchObject({ rows: 0 });
  });

  it("the view: the chain, the dependents, and per slot the upstream's state and why the slot waits", async () => {
    await deps.runs.claim({
      jobName: extract.name, trigger: "schedule", scheduledFor: SLOT, dedupeKey: `slot:${SLOT.toISOString()}`, overlap: "skip", enabledByDefault: true, checkState: true, leaseMs: 60_000, holder: "other:1", codeVersion: "v1", actor: null,
    });
    const view = await dependencyView(source, registry, transform, new Date(NOW), { pendingMs: 3 * 60_000, slots: 2 });
    expect(view).toMatchObject({ jobName: transform.name, dependsOn: [extract.name], dependents: [], chain: [extract.name, transform.name] });
    expect(view.slots.map((s) => [s.slot, s.status, s.upstreamState])).toEqual([
      [SLOT.toISOString(), null, "waiting"],
      ["2026-11-23T10:00:00.000Z", null, "failed"],
    ]);
    expect(view.slots[0].reason).toMatch(/^waiting for extract-\w+ \(running since/);
    expect(view.slots[1].reason).toBe(`skipped: ${extract.name} never ran for 2026-11-23 10:00 UTC`);
    const up = await dependencyView(source, registry, extract, new Date(NOW), { pendingMs: 3 * 60_000 });
    expect(up).toMatchObject({ dependents: [transform.name], chain: [extract.name, transform.name], slots: [] });
  });
});
