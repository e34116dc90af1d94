import { beforeEach, describe, expect, it } from "vitest";
import { dependencyGate, downstreamSlotsOf, queueDependentsAfter, type UpstreamSource } from "@/lib/cron/dependencies";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { JobConfigError } from "@/lib/cron/errors";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import { runTick, type DispatchRequest, type DispatchResult, type TickDeps } from "@/lib/cron/tick";
import type { JobSlot } from "@/lib/cron/tick-store";
import type { RunTrigger } from "@/lib/cron/vocabulary";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";
import { MemoryTickStore } from "../support/memory-tick-store";
import { MemoryUpstreamSource } from "../support/memory-upstream";

/**
 * Job dependencies through the engine and the tick on a fake clock: the registry's load-time
 * checks, the gate (wait while the upstream runs, run once it completed, skip upstream_failed
 * once when it failed for good, manual runs not held), the tick holding a waiting slot without
 * recording it missed and dispatching it when the upstream settles, and a replay of the upstream
 * that succeeds queueing the downstream slot it had failed.
 */

const handler = async () => "ok";
const daily = (name: string, dependsOn: string[] = [], schedule = "0 10 * * *") => defineJob({ name, schedule, dependsOn, handler, retries: 0 }) as JobDefinition;

describe("load-time checks", () => {
  it("rejects a dependsOn naming a job the registry lacks, naming both", () => {
    expect(() => new JobRegistry([daily("transform", ["extract"])])).toThrow(JobConfigError);
    expect(() => new JobRegistry([daily("transform", ["extract"])])).toThrow(/job "transform": dependsOn names "extract", not a job of the registry/);
  });

  it("rejects cycles, short and long, with their path", () => {
    expect(() => new JobRegistry([daily("a", ["b"]), daily("b", ["a"])])).toThrow(/cycle a -> b -> a/);
    expect(() => new JobRegistry([daily("x"), daily("a", ["c"]), daily("b", ["a"]), daily("c", ["b", "x"])])).toThrow(/cycle a -> c -> b -> a/);
  });

  it("accepts a chain and a diamond, and knows each job's dependents", () => {
    const registry = new JobRegistry([daily("extract"), daily("transform", ["extract"]), daily("load", ["transform"]), daily("report", ["extract", "load"])]);
    expect(registry.dependentsOf("extract").map((j) => j.name)).toEqual(["transform", "report"]);
    expect(registry.dependentsOf("report")).toEqual([]);
  });
});

const SLOT = new Date("2026-11-24T10:00:00Z");
let clock: ManualClock;
let store: MemoryRunStore;
let source: MemoryUpstreamSource;
let registry: JobRegistry;
let deps: EngineDeps;
const extract = daily("extract");
const transform = daily("transform", ["extract"]);
/** Every 10 minutes, on an hourly upstream: its 10:40 slot waits for the hourly's 10:00. */
const hourly = daily("hourly", [], "0 * * * *");
const tenMinutes = daily("ten-minutes", ["hourly"], "*/10 * * * *");
const report = daily("report", ["extract", "hourly"]);

beforeEach(() => {
  clock = new ManualClock("2026-11-24T10:00:05Z");
  store = new MemoryRunStore(() => clock.now());
  source = new MemoryUpstreamSource(() => store.runs.values());
  registry = new JobRegistry([extract, transform, hourly, tenMinutes, report]);
  deps = { runs: store, holder: "deps-host:1", codeVersion: "v1", clock, settleGraceMs: 100, gate: dependencyGate({ source, registry: () => registry, clock, options: { pendingMs: 3 * 60_000 } }) };
});

const fire = (job: JobDefinition, trigger: RunTrigger = "tick", scheduledFor: Date | null = SLOT) => clock.run(runTrigger(deps, { job, trigger, scheduledFor, budgetMs: 60_000 }));
const rowsOf = (name: string) => [...store.runs.values()].filter((r) => r.jobName === name);
/** A row of the upstream for the slot, as its own run would leave it. */
const upstreamRow = (jobName: string, status: "started" | "completed" | "failed" | "retry_scheduled", slot = SLOT, nextRetryAt: Date | null = null) => {
  const id = crypto.randomUUID();
  store.runs.set(id, {
    id, jobName, trigger: "schedule", status, skipReason: null, scheduledFor: slot, dedupeKey: `slot:${slot.toISOString()}`, fencingToken: 1, holder: "other:1",
    startedAt: Date.parse("2026-11-24T10:00:03Z"), completedAt: status === "started" || status === "retry_scheduled" ? null : Date.parse("2026-11-24T10:00:41Z"), leaseExpiresAt: null,
    attempts: 1, attemptDetails: [], logLines: [], errorMessage: status === "failed" ? "boom" : null, output: null, nextRetryAt, cancelRequested: false, input: null, actor: null,
  });
  return store.runs.get(id)!;
};
const kindOf = (o: TriggerOutcome) => (o.kind === "skipped" ? `skipped:${o.reason}` : o.kind === "ran" ? `ran:${o.run.status}` : "waiting");

describe("the gate", () => {
  it("waits while the upstream's run for the slot is running, recording nothing, and says why", async () => {
    upstreamRow("extract", "started");
    const outcome = await fire(transform);
    expect(outcome).toMatchObject({ kind: "waiting", reason: "upstream_pending", message: "waiting for extract (running since 10:00:03)" });
    expect(rowsOf("transform")).toEqual([]);
    expect(source.calls).toBe(1);
  });

  it("waits while the upstream waits for a deferred retry, and while its slot has no row yet but is recent", async () => {
    const row = upstreamRow("extract", "retry_scheduled", SLOT, new Date("2026-11-24T10:05:00Z"));
    expect(kindOf(await fire(transform))).toBe("waiting");
    store.runs.delete(row.id);
    expect(await fire(transform)).toMatchObject({ kind: "waiting", message: "waiting for extract (not started yet for 2026-11-24 10:00 UTC)" });
    // Past pendingMs with still no row: the upstream never ran for the slot.
    clock.step(3 * 60_000);
    expect(await fire(transform)).toMatchObject({ kind: "skipped", reason: "upstream_failed" });
  });

  it("runs once the upstream completed the slot", async () => {
    upstreamRow("extract", "completed");
    expect(kindOf(await fire(transform))).toBe("ran:completed");
    expect(rowsOf("transform").map((r) => [r.status, r.scheduledFor?.toISOString()])).toEqual([["completed", SLOT.toISOString()]]);
  });

  it("skips upstream_failed once when the upstream failed for good; a second delivery is a duplicate", async () => {
    upstreamRow("extract", "failed");
    expect(kindOf(await fire(transform))).toBe("skipped:upstream_failed");
    expect(kindOf(await fire(transform))).toBe("skipped:duplicate");
    expect(rowsOf("transform").filter((r) => r.skipReason === "upstream_failed")).toHaveLength(1);
  });

  it("lets a replay of the upstream that succeeds start the downstream slot it had failed", async () => {
    const failed = upstreamRow("extract", "failed");
    expect(kindOf(await fire(transform))).toBe("skipped:upstream_failed");
    // The dead letter's replay: same slot, trigger replay, no slot key.
    const replay = await fire({ ...extract, handler: async () => "fixed" }, "replay");
    expect(kindOf(replay)).toBe("ran:completed");
    expect(failed.status).toBe("failed");
    // The observers queue the skipped slot; the tick dispatches it as a catch-up.
    const queued: Array<[string, string[]]> = [];
    const n = await queueDependentsAfter((replay as Extract<TriggerOutcome, { kind: "ran" }>).run, extract, registry, async (name, slots) => {
      queued.push([name, slots.map((s) => s.toISOString())]);
      return slots.length;
    });
    expect(n).toBe(2);
    expect(queued).toEqual([["transform", [SLOT.toISOString()]], ["report", [SLOT.toISOString()]]]);
    expect(kindOf(await fire(transform, "catchup"))).toBe("ran:completed");
  });

  it("a success of an upstream slot decides the dependent slots up to its next slot, and nothing for a failure", async () => {
    const decided = downstreamSlotsOf(registry, hourly, SLOT);
    expect(decided.map((d) => [d.job.name, d.slots.map((s) => s.toISOString().slice(11, 16))])).toEqual([
      ["ten-minutes", ["10:00", "10:10", "10:20", "10:30", "10:40", "10:50"]],
      ["report", ["10:00"]],
    ]);
    const asked: string[] = [];
    const requeue = async (name: string) => (asked.push(name), 1);
    expect(await queueDependentsAfter({ status: "failed", recorded: true, scheduledFor: SLOT }, hourly, registry, requeue)).toBe(0);
    expect(await queueDependentsAfter({ status: "completed", recorded: false, scheduledFor: SLOT }, hourly, registry, requeue)).toBe(0);
    expect(await queueDependentsAfter({ status: "completed", recorded: true, scheduledFor: null }, hourly, registry, requeue)).toBe(0);
    expect(asked).toEqual([]);
  });

  it("does not hold run-now, replays or resumed retries of the dependent job; backfills wait like the schedule", async () => {
    upstreamRow("extract", "started");
    expect(kindOf(await fire(transform, "manual", null))).toBe("ran:completed");
    expect(kindOf(await fire(transform, "replay"))).toBe("ran:completed");
    expect(kindOf(await fire(transform, "backfill"))).toBe("waiting");
    expect(kindOf(await fire(transform, "catchup"))).toBe("waiting");
  });

  it("reads the upstream's latest slot at or before the dependent slot when their schedules differ", async () => {
    const slot = new Date("2026-11-24T10:40:00Z");
    clock.step(40 * 60_000);
    upstreamRow("hourly", "started", SLOT);
    expect(await fire(tenMinutes, "tick", slot)).toMatchObject({ kind: "waiting", message: "waiting for hourly (running since 10:00:03)" });
    [...store.runs.values()].find((r) => r.jobName === "hourly")!.status = "completed";
    expect(kindOf(await fire(tenMinutes, "tick", slot))).toBe("ran:completed");
  });

  it("with two upstreams: waits while one runs, skips when one failed, runs when both completed, in one read", async () => {
    upstreamRow("extract", "completed");
    const h = upstreamRow("hourly", "started");
    expect(await fire(report)).toMatchObject({ kind: "waiting", message: "waiting for hourly (running since 10:00:03)" });
    h.status = "completed";
    expect(kindOf(await fire(report))).toBe("ran:completed");
    expect(source.calls).toBe(2);
    const other = new Date("2026-11-25T10:00:00Z");
    clock.step(86_400_000);
    upstreamRow("extract", "failed", other);
    upstreamRow("hourly", "started", other);
    expect(await fire(report, "tick", other)).toMatchObject({ kind: "skipped", reason: "upstream_failed" });
  });
});

/**
 * The tick's store in memory, joined to the engine's: a slot has a row when either has one (the
 * execute route writes the engine's), and the dependency reads see both.
 */
class LinkedTickStore extends MemoryTickStore {
  constructor(clock: { now: () => number }, private readonly engineRuns: MemoryRunStore, readonly upstream: UpstreamSource) {
    super(clock);
  }
  private engineHas(jobName: string, slot: Date, slotKeyed = false) {
    return [...this.engineRuns.runs.values()].some(
      (r) => r.jobName === jobName && r.scheduledFor?.getTime() === slot.getTime() && (!slotKeyed || r.dedupeKey?.startsWith("slot:") || r.skipReason === "upstream_failed"),
    );
  }
  override async recordMissedSlots(jobName: string, slots: readonly Date[], holder: string) {
    return super.recordMissedSlots(jobName, slots.filter((s) => !this.engineHas(jobName, s)), holder);
  }
  override async claimedSlots(slots: readonly JobSlot[]) {
    const own = await super.claimedSlots(slots);
    return [...own, ...slots.filter((s) => this.engineHas(s.jobName, s.slot, true))];
  }
  slotRows(pairs: ReadonlyArray<{ jobName: string; slot: Date }>) {
    return this.upstream.slotRows(pairs);
  }
}

describe("the tick and a waiting slot", () => {
  it("holds the slot while the upstream runs (no missed row, no missed alert), dispatches it when the upstream completes, and it runs", async () => {
    const ticks = new JobRegistry([extract, transform]);
    const missedAlerts: string[] = [];
    const tickStore = new LinkedTickStore(clock, store, new MemoryUpstreamSource(() => store.runs.values()));
    deps.gate = dependencyGate({ source: tickStore.upstream, registry: () => ticks, clock, options: { pendingMs: 3 * 60_000 } });
    const sent: DispatchRequest[] = [];
    const outcomes: string[] = [];
    const dispatch = async (request: DispatchRequest): Promise<DispatchResult> => {
      sent.push(request);
      if (request.trigger === "retry") return { request, status: 200 };
      const outcome = await fire(ticks.get(request.jobName)!, request.trigger, request.slot);
      outcomes.push(`${request.jobName} ${request.slot.toISOString().slice(11, 16)} ${kindOf(outcome)}`);
      return { request, status: outcome.kind === "waiting" ? 202 : 200 };
    };
    const tick = (iso: string) => {
      clock.step(Date.parse(iso) - clock.now());
      return runTick({ store: tickStore, clock, registry: ticks, dispatch, graceMs: 60_000, holder: "tick-test", onMissed: async (job, slots) => void missedAlerts.push(`${job.name} ${slots.length}`) });
    };

    await tick("2026-11-24T09:59:00Z"); // first sight
    const running = upstreamRow("extract", "started");
    await tick("2026-11-24T10:00:00Z");
    expect(outcomes).toEqual(["transform 10:00 waiting"]);
    // Minutes later the slot is past its grace: held, not missed.
    await tick("2026-11-24T10:01:00Z");
    const held = await tick("2026-11-24T10:05:00Z");
    expect(held.missed).toEqual([]);
    expect(tickStore.rowsOf("transform", "missed")).toEqual([]);
    expect(rowsOf("transform")).toEqual([]);
    expect(missedAlerts).toEqual([]);

    Object.assign(running, { status: "completed", completedAt: Date.parse("2026-11-24T10:06:10Z") });
    await tick("2026-11-24T10:07:00Z");
    expect(outcomes.at(-1)).toBe("transform 10:00 ran:completed");
    expect(rowsOf("transform").map((r) => r.status)).toEqual(["completed"]);
    // Ran once: later ticks neither dispatch it again nor call it missed.
    const before = sent.length;
    const after = await tick("2026-11-24T10:08:00Z");
    expect(after.missed).toEqual([]);
    expect(sent.length).toBe(before);
  });

  it("dispatches a held slot whose upstream failed for good: the gate records upstream_failed once, and the tick leaves it", async () => {
    const ticks = new JobRegistry([extract, transform]);
    const tickStore = new LinkedTickStore(clock, store, new MemoryUpstreamSource(() => store.runs.values()));
    deps.gate = dependencyGate({ source: tickStore.upstream, registry: () => ticks, clock, options: { pendingMs: 3 * 60_000 } });
    const outcomes: string[] = [];
    const dispatch = async (request: DispatchRequest): Promise<DispatchResult> => {
      if (request.trigger !== "retry") outcomes.push(`${request.slot.toISOString().slice(11, 16)} ${kindOf(await fire(ticks.get(request.jobName)!, request.trigger, request.slot))}`);
      return { request, status: 200 };
    };
    const tick = (iso: string) => {
      clock.step(Date.parse(iso) - clock.now());
      return runTick({ store: tickStore, clock, registry: ticks, dispatch, graceMs: 60_000, holder: "tick-test" });
    };
    await tick("2026-11-24T09:59:00Z");
    const running = upstreamRow("extract", "started");
    await tick("2026-11-24T10:00:00Z");
    await tick("2026-11-24T10:03:00Z");
    Object.assign(running, { status: "failed", completedAt: Date.parse("2026-11-24T10:03:30Z") });
    await tick("2026-11-24T10:04:00Z");
    await tick("2026-11-24T10:05:00Z");
    // While the upstream runs the tick holds the slot without dispatching it (the gate would say wait).
    expect(outcomes).toEqual(["10:00 waiting", "10:00 skipped:upstream_failed"]);
    expect(rowsOf("transform").map((r) => r.skipReason)).toEqual(["upstream_failed"]);
    expect(tickStore.rowsOf("transform", "missed")).toEqual([]);
  });

  it("tells the monitors a dependent job is not late while its slot waits for the upstream, and is again once it ran", async () => {
    const ticks = new JobRegistry([extract, transform]);
    const tickStore = new LinkedTickStore(clock, store, new MemoryUpstreamSource(() => store.runs.values()));
    deps.gate = dependencyGate({ source: tickStore.upstream, registry: () => ticks, clock, options: { pendingMs: 3 * 60_000 } });
    const dispatch = async (request: DispatchRequest): Promise<DispatchResult> => {
      if (request.trigger !== "retry") await fire(ticks.get(request.jobName)!, request.trigger, request.slot);
      return { request, status: 200 };
    };
    let lateWatched: boolean[] = [];
    const monitors: TickDeps["monitors"] = async (input) => {
      lateWatched.push(input.jobs.find((j) => j.job.name === transform.name)!.job.alerts.lateAlerts);
      return { late: [], longRunning: [], open: [], recovered: [], alerted: 0, errors: [] };
    };
    const tick = (iso: string) => {
      clock.step(Date.parse(iso) - clock.now());
      return runTick({ store: tickStore, clock, registry: ticks, dispatch, graceMs: 60_000, holder: "tick-test", monitors });
    };
    await tick("2026-11-24T09:59:00Z");
    const running = upstreamRow("extract", "started");
    await tick("2026-11-24T10:00:00Z");
    await tick("2026-11-24T10:02:00Z");
    Object.assign(running, { status: "completed", completedAt: Date.parse("2026-11-24T10:02:30Z") });
    await tick("2026-11-24T10:03:00Z"); // dispatched now: not late either
    await tick("2026-11-24T10:04:00Z");
    expect(lateWatched).toEqual([true, true, false, false, true]);
    expect(rowsOf("transform").map((r) => r.status)).toEqual(["completed"]);
  });

  it("records the slot missed as any job's when nothing dispatched it for longer than the settle window", async () => {
    const ticks = new JobRegistry([extract, transform]);
    const tickStore = new LinkedTickStore(clock, store, new MemoryUpstreamSource(() => store.runs.values()));
    const dispatch = async (request: DispatchRequest): Promise<DispatchResult> => ({ request, status: null, error: "unreachable" });
    const tick = (iso: string) => {
      clock.step(Date.parse(iso) - clock.now());
      return runTick({ store: tickStore, clock, registry: ticks, dispatch, graceMs: 60_000, holder: "tick-test" });
    };
    await tick("2026-11-24T09:59:00Z");
    upstreamRow("extract", "completed");
    await tick("2026-11-24T10:00:00Z");
    expect((await tick("2026-11-24T10:05:00Z")).missed).toEqual([]);
    const late = await tick("2026-11-24T10:20:00Z");
    expect(late.missed.map((m) => [m.jobName, m.slots])).toEqual([["transform", [SLOT.toISOString()]]]);
  });
});
