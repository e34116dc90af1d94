import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineJob, type JobConfig, type JobContext } from "@/lib/cron/define-job";
import { runTrigger, type EngineDeps, type TriggerInput, type TriggerOutcome } from "@/lib/cron/run-job";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * The engine against a clock the test moves: every timeout, grace, heartbeat and backoff is a
 * timer on the ManualClock, so each test says exactly when things happen and none sleeps.
 */

const HOUR_MS = 3_600_000;
const START = Date.parse("2026-11-24T10:00:00Z");

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};

let clock: ManualClock;
let store: MemoryRunStore;
let deps: EngineDeps;
let warnings: string[];
/** The store's own clock (the database's): elapsed time, which a step of the local wall clock does not move. */
const serverNow = () => START + clock.elapsed;

beforeEach(() => {
  clock = new ManualClock(new Date(START).toISOString());
  store = new MemoryRunStore(serverNow);
  warnings = [];
  deps = { runs: store, holder: "clock-host:1", codeVersion: "v1", clock, warn: (m) => warnings.push(m) };
});

afterEach(() => {
  vi.restoreAllMocks();
});

const job = (config: Partial<JobConfig> = {}) => defineJob({ name: "clocked", schedule: "* * * * *", handler: async () => "ok", ...config });
const trigger = (config: Partial<JobConfig>, input: Partial<TriggerInput> = {}) =>
  runTrigger(deps, { job: job(config), trigger: "manual", scheduledFor: null, budgetMs: 60_000, ...input });
/** Resolves after `ms` on the test's clock. */
const after = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
/** A handler that stops when its signal aborts, `stopMs` later, noting when the abort came. */
const untilAborted = (seen: { abortedAt?: number }, stopMs = 0) => (ctx: JobContext) =>
  new Promise((_, reject) =>
    ctx.signal.addEventListener("abort", () => {
      seen.abortedAt = clock.elapsed;
      clock.setTimeout(() => reject(ctx.signal.reason), stopMs);
    }),
  );
const startsOf = (details: Array<{ startedAt: string }>) => details.map((d) => Date.parse(d.startedAt) - START);
const leaseOf = (runId: string) => [...store.leases.values()].find((l) => l.runId === runId);

describe("timeouts", () => {
  it("aborts the handler at the job's timeout and records the run timed_out", async () => {
    const seen: { abortedAt?: number } = {};
    const run = ran(await clock.run(trigger({ timeout: "10s", handler: untilAborted(seen) })));
    expect(seen.abortedAt).toBe(10_000);
    expect(clock.elapsed).toBe(10_000); // a handler that honours its signal is answered at once
    expect(run).toMatchObject({ status: "timed_out", recorded: true, attempts: 1, error: "timed out after 10 s" });
    expect(run.attemptDetails).toEqual([expect.objectContaining({ attempt: 1, timedOut: true, timeoutMs: 10_000, durationMs: 10_000 })]);
    expect(store.runs.get(run.id)?.status).toBe("timed_out");
    expect(leaseOf(run.id)).toBeUndefined();
    expect(clock.pending).toBe(0); // no timer left behind: heartbeats and the timeout are cleared
  });

  it("gives an aborted handler the settle grace to stop, and frees the lease with the result", async () => {
    const run = ran(await clock.run(trigger({ timeout: "10s", handler: untilAborted({}, 500) })));
    expect(clock.elapsed).toBe(10_500);
    expect(run).toMatchObject({ status: "timed_out", recorded: true });
    expect(leaseOf(run.id)).toBeUndefined();
  });

  it("answers after the settle grace when the handler takes longer to stop, and keeps the lease until it does", async () => {
    const run = ran(await clock.run(trigger({ timeout: "10s", handler: untilAborted({}, 1_500) })));
    expect(clock.elapsed).toBe(11_000); // timeout + the 1 s default grace
    expect(run).toMatchObject({ status: "timed_out", recorded: true });
    expect(leaseOf(run.id)).toBeDefined();
    await clock.advance(499);
    expect(leaseOf(run.id)).toBeDefined();
    await clock.advance(1); // the handler stops at 11.5 s
    expect(leaseOf(run.id)).toBeUndefined();
    expect(clock.pending).toBe(0);
  });
});

describe("the lease", () => {
  it("heartbeats every third of the lease, so a run longer than its lease keeps it", async () => {
    let leftAt35s = 0;
    const run = ran(
      await clock.run(
        trigger({
          timeout: "40s",
          lease: "30s",
          handler: async () => {
            await after(35_000);
            leftAt35s = leaseOf(store.runs.keys().next().value!)!.expiresAt - serverNow();
          },
        }),
      ),
    );
    expect(store.heartbeatsAt.map((t) => t - START)).toEqual([10_000, 20_000, 30_000]);
    expect(leftAt35s).toBe(25_000); // extended to the last heartbeat + 30 s
    expect(run).toMatchObject({ status: "completed", recorded: true });
  });

  it("keeps the lease of a handler that ignores its abort until it settles, then frees it", async () => {
    let settle!: () => void;
    const run = ran(await clock.run(trigger({ timeout: "1s", lease: "30s", handler: () => new Promise<void>((r) => (settle = r)) })));
    expect(clock.elapsed).toBe(2_000); // timeout + grace
    expect(run).toMatchObject({ status: "timed_out", recorded: true });
    await clock.advance(60_000); // long past the first lease: the keeper still heartbeats it
    expect(store.heartbeatsAt.length).toBe(6);
    expect(leaseOf(run.id)!.expiresAt).toBeGreaterThan(serverNow());
    const second = await clock.run(trigger({ timeout: "1s" }));
    expect(second).toMatchObject({ kind: "skipped", reason: "already_running" });
    settle();
    await clock.advance(0);
    expect(leaseOf(run.id)).toBeUndefined();
    await clock.advance(60_000);
    expect(store.heartbeatsAt.length).toBe(6); // the keeper stopped with the handler
    expect(clock.pending).toBe(0);
  });

  it("stops holding a lingering handler's lease at the local deadline when heartbeats fail; the job is free once the lease expires", async () => {
    let beats = 0;
    store.heartbeat = async () => {
      beats++;
      throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "57P01" });
    };
    const run = ran(await clock.run(trigger({ timeout: "1s", lease: "30s", handler: () => new Promise<void>(() => {}) })));
    expect(run.status).toBe("timed_out");
    await clock.advance(21_000); // 23 s: past the local deadline (30 s - 7.5 s margin since the claim)
    const beatsAtDeadline = beats;
    expect(beatsAtDeadline).toBeGreaterThanOrEqual(4); // 10 s, then every 2 s after a failure
    expect(warnings.some((w) => /lease lost: no heartbeat confirmed/.test(w))).toBe(true);
    await clock.advance(20_000);
    expect(beats).toBe(beatsAtDeadline); // the keeper gave the lease up
    const next = ran(await clock.run(trigger({ timeout: "1s", handler: async () => "next" })));
    expect(next).toMatchObject({ status: "completed", output: "next" });
  });
});

describe("retries", () => {
  it("sleeps a backoff that fits the budget in-request", async () => {
    let calls = 0;
    const handler = async () => {
      if (++calls === 1) throw new Error("first attempt fails");
      return calls;
    };
    const run = ran(await clock.run(trigger({ timeout: "10s", retries: 1, backoff: { strategy: "fixed", delay: "5s" }, handler })));
    expect(run).toMatchObject({ status: "completed", attempts: 2, output: 2, retryDeferred: false });
    expect(startsOf(run.attemptDetails)).toEqual([0, 5_000]);
  });

  it("sleeps a backoff whose delay and timeout exactly fill what the budget leaves", async () => {
    let calls = 0;
    const handler = async () => {
      if (++calls === 1) throw new Error("first attempt fails");
    };
    // 30 s budget - 1 s finish reserve = 29 s = 19 s delay + 10 s timeout.
    const run = ran(await clock.run(trigger({ timeout: "10s", retries: 1, backoff: { strategy: "fixed", delay: "19s" }, handler }, { budgetMs: 30_000 })));
    expect(run).toMatchObject({ status: "completed", attempts: 2 });
    expect(startsOf(run.attemptDetails)).toEqual([0, 19_000]);
  });

  it("turns a backoff that does not fit into a durable retry, due after its delay, and resumes it", async () => {
    let calls = 0;
    const handler = async () => {
      if (++calls === 1) throw new Error("first attempt fails");
      return "second";
    };
    const config = { timeout: "10s", retries: 1, backoff: { strategy: "fixed", delay: "20s" }, handler } as const;
    const run = ran(await clock.run(trigger(config, { budgetMs: 30_000 })));
    expect(clock.elapsed).toBe(0); // not slept
    expect(run).toMatchObject({ status: "retry_scheduled", attempts: 1, retryDeferred: true, recorded: true });
    expect(run.nextRetryAt?.getTime()).toBe(START + 20_000);
    expect(store.runs.get(run.id)).toMatchObject({ status: "retry_scheduled", nextRetryAt: new Date(START + 20_000) });
    expect(leaseOf(run.id)).toBeUndefined();

    await clock.advance(20_000);
    const resumed = ran(await clock.run(trigger(config, { trigger: "retry", retryOf: run.id })));
    expect(resumed).toMatchObject({ id: run.id, status: "completed", attempts: 2, output: "second" });
    expect(startsOf(resumed.attemptDetails)).toEqual([0, 20_000]);
  });

  it("follows the exponential schedule up to its cap", async () => {
    const backoff = { strategy: "exponential", delay: "1s", factor: 2, max: "3s" } as const;
    const run = ran(await clock.run(trigger({ timeout: "10s", retries: 4, backoff, handler: async () => Promise.reject(new Error("down")) }, { budgetMs: 120_000 })));
    expect(run).toMatchObject({ status: "failed", attempts: 5 });
    expect(startsOf(run.attemptDetails)).toEqual([0, 1_000, 3_000, 6_000, 9_000]); // 1 s, 2 s, then 3 s (capped) twice
  });

  it("keeps jittered delays within the upper half of each delay", async () => {
    const backoff = { strategy: "exponential", delay: "1s", factor: 2, max: "3s", jitter: true } as const;
    const config: Partial<JobConfig> = { timeout: "10s", retries: 3, backoff, handler: async () => Promise.reject(new Error("down")) };
    vi.spyOn(Math, "random").mockReturnValue(0);
    const low = ran(await clock.run(trigger({ ...config, name: "jitter-low" }, { budgetMs: 120_000 })));
    expect(startsOf(low.attemptDetails)).toEqual([0, 500, 1_500, 3_000]); // half of 1 s, 2 s, 3 s
    vi.spyOn(Math, "random").mockReturnValue(0.999_999);
    const from = clock.elapsed;
    const high = ran(await clock.run(trigger({ ...config, name: "jitter-high" }, { budgetMs: 120_000 })));
    expect(startsOf(high.attemptDetails).map((t) => t - from)).toEqual([0, 1_000, 3_000, 6_000]);
  });
});

describe("the clock going backwards", () => {
  it("neither shortens nor stretches a timeout, and measures the attempt in elapsed time", async () => {
    const seen: { abortedAt?: number } = {};
    clock.setTimeout(() => clock.step(-HOUR_MS), 3_000);
    const run = ran(await clock.run(trigger({ timeout: "10s", handler: untilAborted(seen) })));
    expect(seen.abortedAt).toBe(10_000);
    expect(run).toMatchObject({ status: "timed_out", recorded: true });
    expect(run.attemptDetails[0]).toMatchObject({ timeoutMs: 10_000, durationMs: 10_000 });
  });

  it("does not give the invocation's budget back: a retry that no longer fits is deferred", async () => {
    let calls = 0;
    clock.setTimeout(() => clock.step(-HOUR_MS), 3_000);
    const handler = async () => {
      calls++;
      await after(18_000);
      throw new Error("slow failure");
    };
    // At 18 s of a 30 s budget, 11 s are left: a 5 s delay and a 10 s timeout do not fit.
    const run = ran(await clock.run(trigger({ timeout: "20s", retries: 1, backoff: { strategy: "fixed", delay: "5s" }, handler }, { budgetMs: 30_000 })));
    expect(calls).toBe(1);
    expect(run).toMatchObject({ status: "retry_scheduled", attempts: 1 });
    expect(run.nextRetryAt?.getTime()).toBe(clock.now() + 5_000); // on the wall clock, which the store compares with
  });

  it("keeps heartbeating on schedule", async () => {
    clock.setTimeout(() => clock.step(-HOUR_MS), 1_000);
    const run = ran(await clock.run(trigger({ timeout: "40s", lease: "30s", handler: () => after(35_000) })));
    expect(store.heartbeatsAt.map((t) => t - START)).toEqual([10_000, 20_000, 30_000]);
    expect(run).toMatchObject({ status: "completed", recorded: true });
  });
});

describe("a slot fired twice", () => {
  it("runs once: the second delivery is a duplicate skip, whether it arrives during the run or after it", async () => {
    let calls = 0;
    const slot = new Date("2026-11-24T10:00:00Z");
    const config: Partial<JobConfig> = { timeout: "10s", handler: async () => { calls++; await after(5_000); return calls; } };
    const fire = () => trigger(config, { trigger: "schedule", scheduledFor: slot });
    const [first, during] = await clock.run(Promise.all([fire(), fire()]));
    const late = await clock.run(fire());
    expect(calls).toBe(1);
    expect(ran(first)).toMatchObject({ status: "completed", output: 1 });
    expect(during).toMatchObject({ kind: "skipped", reason: "duplicate" });
    expect(late).toMatchObject({ kind: "skipped", reason: "duplicate" });
    const rows = [...store.runs.values()];
    expect(rows.filter((r) => r.status === "completed")).toHaveLength(1);
    expect(rows.filter((r) => r.status === "skipped" && r.skipReason === "duplicate")).toHaveLength(2);
  });
});
