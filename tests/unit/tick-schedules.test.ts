import { describe, expect, it } from "vitest";
import { defineJob, type DurationInput, type JobDefinition } from "@/lib/cron/define-job";
import { occurrencesBetween } from "@/lib/cron/schedule";
import { jitterDelayMs, type Dispatcher, type DispatchRequest } from "@/lib/cron/tick";
import { ManualClock } from "../support/memory-run-store";
import { memoryExecuteRoute, tickWorld } from "../support/memory-tick-store";

/**
 * The tick dispatches interval, one-time and bounded jobs (and catches up what it missed) on a
 * fake clock, and spreads jittered starts: deterministic per job and slot, never before the
 * slot, within the jitter and the tick's budget, each slot once.
 */

const MIN = 60_000;
const at = (iso: string) => new Date(iso).getTime();
const handler = () => {};
const tickSlots = (calls: DispatchRequest[], trigger = "tick") => calls.flatMap((c) => (c.trigger === trigger && "slot" in c ? [c.slot.toISOString()] : []));

/** Ticks once a minute (at :07 past each minute) over [from, to]. */
async function walk(tick: (t: number) => Promise<unknown>, from: string, to: string) {
  for (let t = at(from); t <= at(to); t += MIN) await tick(t + 7_000);
}

describe("the tick dispatches every schedule kind", () => {
  it("an interval job at each grid slot, once each, and nothing in between", async () => {
    const job = defineJob({ name: "tick-kinds-every", schedule: { every: "90m", offset: "10m" }, handler });
    const { tick, log, store } = tickWorld([job]);
    await walk(tick, "2026-11-24T00:00:00Z", "2026-11-24T06:00:00Z");
    expect(tickSlots(log.calls)).toEqual(["2026-11-24T00:10:00.000Z", "2026-11-24T01:40:00.000Z", "2026-11-24T03:10:00.000Z", "2026-11-24T04:40:00.000Z"]);
    expect(store.rowsOf(job.name, "missed")).toEqual([]);
  });

  it("an interval job's missed slots are found and caught up per its policy, like cron slots", async () => {
    const job = defineJob({ name: "tick-kinds-every-missed", schedule: { every: "20m" }, missed: "all", handler });
    const { tick, log, store } = tickWorld([job]);
    await tick(at("2026-11-24T10:00:30Z"));
    // The tick is down from 10:01 to 11:04: the 10:20, 10:40 and 11:00 slots got no run.
    const report = await tick(at("2026-11-24T11:05:00Z"));
    expect(report.missed).toEqual([{ jobName: job.name, slots: ["2026-11-24T10:20:00.000Z", "2026-11-24T10:40:00.000Z", "2026-11-24T11:00:00.000Z"], policy: "all", catchUps: 3 }]);
    expect(store.rowsOf(job.name, "missed")).toHaveLength(3);
    await walk(tick, "2026-11-24T11:06:00Z", "2026-11-24T11:10:00Z");
    expect(tickSlots(log.calls, "catchup")).toEqual(["2026-11-24T10:20:00.000Z", "2026-11-24T10:40:00.000Z", "2026-11-24T11:00:00.000Z"]);
  });

  it("a one-time job at its minute, once; afterwards nothing", async () => {
    const job = defineJob({ name: "tick-kinds-once", runAt: "2026-12-24T09:00:00Z", handler });
    const { tick, log } = tickWorld([job]);
    await walk(tick, "2026-12-24T08:55:00Z", "2026-12-24T09:10:00Z");
    await tick(at("2026-12-24T09:00:30Z")); // a second delivery of its minute
    await walk(tick, "2026-12-25T09:00:00Z", "2026-12-25T09:02:00Z");
    expect(tickSlots(log.calls)).toEqual(["2026-12-24T09:00:00.000Z"]);
  });

  it("a one-time job whose minute the tick missed: recorded missed and caught up once (missed: \"once\"), or only recorded (skip)", async () => {
    const once = defineJob({ name: "tick-kinds-once-catchup", runAt: "2026-12-24T09:00:00Z", missed: "once", handler });
    const skip = defineJob({ name: "tick-kinds-once-skip", runAt: "2026-12-24T09:00:00Z", handler });
    const { tick, log, store } = tickWorld([once, skip]);
    await tick(at("2026-12-24T08:50:00Z"));
    // Down from 08:51 to 09:20.
    const report = await tick(at("2026-12-24T09:21:00Z"));
    expect(report.missed.map((m) => [m.jobName, m.slots, m.catchUps])).toEqual([
      [once.name, ["2026-12-24T09:00:00.000Z"], 1],
      [skip.name, ["2026-12-24T09:00:00.000Z"], 0],
    ]);
    await walk(tick, "2026-12-24T09:22:00Z", "2026-12-24T09:30:00Z");
    expect(log.calls.filter((c) => c.trigger === "catchup").map((c) => c.jobName)).toEqual([once.name]);
    expect(tickSlots(log.calls)).toEqual([]);
    expect(store.rowsOf(skip.name, "missed")).toHaveLength(1);
  });

  it("a bounded job only within [startAt, endAt], both edges included, and no missed slots outside it", async () => {
    const job = defineJob({ name: "tick-kinds-bounded", schedule: "*/30 * * * *", dispatch: "tick", startAt: "2026-11-24T10:00:00Z", endAt: "2026-11-24T11:00:00Z", handler });
    const { tick, log, store } = tickWorld([job]);
    await walk(tick, "2026-11-24T09:00:00Z", "2026-11-24T12:30:00Z");
    expect(tickSlots(log.calls)).toEqual(["2026-11-24T10:00:00.000Z", "2026-11-24T10:30:00.000Z", "2026-11-24T11:00:00.000Z"]);
    expect(store.rowsOf(job.name, "missed")).toEqual([]);
  });
});

/** Runs one tick at `instant` over `jobs`, firing the fake timers, and records when (ms after the tick began) each dispatch was sent. */
async function jitteredTick(jobs: JobDefinition[], instant: string, options: { jitterBudgetMs?: number } = {}) {
  const timers = new ManualClock(instant);
  const sent: Array<{ request: DispatchRequest; afterMs: number }> = [];
  let route: Dispatcher | null = null;
  const dispatch: Dispatcher = (request) => {
    sent.push({ request, afterMs: timers.elapsed });
    return route!(request);
  };
  const world = tickWorld(jobs, { dispatch, timers, ...options });
  // The execute route claims each slot in the world's own store (a second dispatch would be a duplicate).
  route = memoryExecuteRoute(world.store);
  const report = await timers.run(world.tick(instant));
  return { sent, report, timers, world };
}

describe("start jitter", () => {
  const many = (jitter: DurationInput | undefined, n = 1_000) =>
    Array.from({ length: n }, (_, i) => defineJob({ name: `jitter-unit-${jitter ?? "none"}-${i}`, schedule: "0 * * * *", dispatch: "tick", ...(jitter ? { jitter } : {}), handler }));

  it("1,000 jobs due at :00 with jitter \"30s\" start spread over the 30 s, each at its predicted delay, none before its slot, each once", async () => {
    const jobs = many("30s");
    const slot = new Date("2026-11-24T10:00:00Z");
    const { sent, report } = await jitteredTick(jobs, "2026-11-24T10:00:00Z");
    expect(report.errors).toEqual([]);
    expect(sent).toHaveLength(1_000);
    expect(new Set(sent.map((s) => s.request.jobName)).size).toBe(1_000);
    for (const s of sent) {
      expect(s.request).toMatchObject({ trigger: "tick", slot });
      expect(s.afterMs).toBe(jitterDelayMs(s.request.jobName, slot, 30_000));
      expect(s.afterMs).toBeGreaterThanOrEqual(0);
      expect(s.afterMs).toBeLessThan(30_000);
    }
    // Spread: every second of the 30 has starts, none has more than a small share.
    const perSecond = new Array(30).fill(0);
    for (const s of sent) perSecond[Math.floor(s.afterMs / 1000)]++;
    const spread = Math.max(...sent.map((s) => s.afterMs)) - Math.min(...sent.map((s) => s.afterMs));
    expect(spread).toBeGreaterThan(29_000);
    expect(Math.min(...perSecond)).toBeGreaterThan(10);
    expect(Math.max(...perSecond)).toBeLessThan(70);
  });

  it("without jitter all 1,000 start at once", async () => {
    const { sent } = await jitteredTick(many(undefined), "2026-11-24T10:00:00Z");
    expect(sent).toHaveLength(1_000);
    expect(new Set(sent.map((s) => s.afterMs))).toEqual(new Set([0]));
  });

  it("is deterministic per job and slot (two ticks of one minute agree), and differs between slots", () => {
    const slot = new Date("2026-11-24T10:00:00Z");
    expect(jitterDelayMs("nightly-export", slot, 30_000)).toBe(jitterDelayMs("nightly-export", new Date(slot), 30_000));
    const slots = occurrencesBetween({ cron: "0 * * * *", timezone: "UTC" }, slot, new Date(slot.getTime() + 20 * 3_600_000));
    expect(new Set(slots.map((s) => jitterDelayMs("nightly-export", s, 30_000))).size).toBeGreaterThan(15);
    expect(jitterDelayMs("nightly-export", slot, 0)).toBe(0);
  });

  it("a tick that runs late in the minute sends at once what is already due, and the rest at their delay (never before slot + delay)", async () => {
    const jobs = many("30s", 200);
    const slot = new Date("2026-11-24T10:00:00Z");
    const { sent } = await jitteredTick(jobs, "2026-11-24T10:00:12Z");
    expect(sent).toHaveLength(200);
    for (const s of sent) {
      const delay = jitterDelayMs(s.request.jobName, slot, 30_000);
      expect(s.afterMs, s.request.jobName).toBe(Math.max(0, delay - 12_000));
    }
  });

  it("never past the tick's budget: a 50 s jitter is cut to the budget, and a second tick of the minute sends nothing again", async () => {
    const jobs = many("50s", 300);
    const { sent, world, timers } = await jitteredTick(jobs, "2026-11-24T10:00:00Z", { jitterBudgetMs: 35_000 });
    expect(sent).toHaveLength(300);
    expect(Math.max(...sent.map((s) => s.afterMs))).toBe(35_000);
    expect(sent.filter((s) => s.afterMs === 35_000).length).toBeGreaterThan(50);
    const before = sent.length;
    await timers.run(world.tick("2026-11-24T10:00:40Z"));
    expect(sent.length).toBe(before);
  });
});
