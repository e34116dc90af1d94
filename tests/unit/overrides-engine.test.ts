import { beforeEach, describe, expect, it } from "vitest";
import { defineJob, type JobContext, type JobDefinition } from "@/lib/cron/define-job";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import { cachedResolver, OverrideCache, type StoredOverrides } from "@/lib/overrides/store";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * Overrides through the engine on a fake clock: the job the engine runs is the code's with its
 * stored overrides (EngineDeps.resolveJob over the per-process cache), for the timeout, the
 * lease and the attempts; a revert restores the code's behaviour; the cache reads once per TTL.
 */

const START = Date.parse("2026-11-24T10:00:00Z");
let clock: ManualClock;
let store: MemoryRunStore;
let stored: Map<string, StoredOverrides>;
let loads: number;
let cache: OverrideCache;
let deps: EngineDeps;

beforeEach(() => {
  clock = new ManualClock(new Date(START).toISOString());
  store = new MemoryRunStore(() => START + clock.elapsed);
  stored = new Map();
  loads = 0;
  cache = new OverrideCache(async () => {
    loads += 1;
    return new Map(stored);
  }, 5_000, () => clock.now());
  deps = { runs: store, holder: "overrides-host:1", codeVersion: "v1", clock, resolveJob: cachedResolver(cache), settleGraceMs: 100 };
});

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got ${o.kind}`);
  return o.run;
};
const setOverrides = (name: string, doc: Record<string, unknown>) => {
  stored.set(name, { doc, at: new Date(clock.now()).toISOString(), by: "test" });
  cache.invalidate();
};
/** A handler that takes two seconds (on the test's clock) unless its signal aborts first. */
const twoSeconds = (ctx: JobContext) =>
  new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => resolve("done"), 2_000);
    ctx.signal.addEventListener("abort", () => {
      clock.clearTimeout(timer);
      reject(ctx.signal.reason);
    });
  });
const slow = defineJob({ name: "raise-timeout", schedule: "* * * * *", handler: twoSeconds, timeout: "1s" });
const runNow = (job: JobDefinition = slow) => clock.run(runTrigger(deps, { job, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));

describe("overrides through the engine", () => {
  it("runs a 2 s handler to completion under a 3 s timeout override where the code's 1 s times it out, and the revert restores it", async () => {
    expect(ran(await runNow())).toMatchObject({ status: "timed_out", error: "timed out after 1 s" });

    setOverrides(slow.name, { timeout: "3s" });
    const run = ran(await runNow());
    expect(run).toMatchObject({ status: "completed" });
    expect(run.attemptDetails[0]).toMatchObject({ timeoutMs: 3_000 });
    // The lease follows the overridden timeout as defineJob's default does (at least 30 s).
    expect(store.runs.get(run.id)?.status).toBe("completed");

    setOverrides(slow.name, {});
    expect(ran(await runNow())).toMatchObject({ status: "timed_out" });
  });

  it("makes as many attempts as the retries override says, and the code's number after a revert", async () => {
    let calls = 0;
    const failing = defineJob({ name: "flaky", schedule: "* * * * *", handler: () => { calls += 1; throw new Error("boom"); }, timeout: "10s", retries: 0, backoff: { strategy: "immediate" } });
    expect(ran(await runNow(failing))).toMatchObject({ status: "failed", attempts: 1 });
    setOverrides(failing.name, { retries: 2 });
    calls = 0;
    expect(ran(await runNow(failing))).toMatchObject({ status: "failed", attempts: 3 });
    expect(calls).toBe(3);
    setOverrides(failing.name, {});
    expect(ran(await runNow(failing))).toMatchObject({ attempts: 1 });
  });

  it("ignores a stored document the code no longer accepts: the code's definition runs", async () => {
    setOverrides(slow.name, { timeout: "3s", alerts: { maxRuntime: "10s" } });
    expect(ran(await runNow())).toMatchObject({ status: "timed_out", error: "timed out after 1 s" });
  });

  it("reads the overrides once per TTL, whatever the number of triggers, and again after this process writes", async () => {
    const quick = defineJob({ name: "quick", schedule: "* * * * *", handler: () => "ok" });
    for (let i = 0; i < 5; i++) await runNow(quick);
    expect(loads).toBe(1);
    // Another instance's write is seen once the TTL has passed.
    stored.set(slow.name, { doc: { timeout: "3s" }, at: null, by: "elsewhere" });
    expect(ran(await runNow())).toMatchObject({ status: "timed_out" });
    await clock.advance(5_000);
    expect(ran(await runNow())).toMatchObject({ status: "completed" });
    expect(loads).toBe(2);
    cache.invalidate();
    await runNow(quick);
    expect(loads).toBe(3);
  });

  it("shares one load between concurrent triggers, and keeps no load an invalidation overtook", async () => {
    let release!: () => void;
    let n = 0;
    const gated = new OverrideCache(() => new Promise((resolve) => { n += 1; const value = new Map(stored); release = () => resolve(value); }), 5_000, () => clock.now());
    const a = gated.all();
    const b = gated.all();
    expect(n).toBe(1);
    gated.invalidate();
    release();
    await Promise.all([a, b]);
    void gated.all();
    expect(n).toBe(2);
  });
});
