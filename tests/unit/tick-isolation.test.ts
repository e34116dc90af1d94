import { describe, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { LONG_EXPIRED_SECONDS, type DispatchRequest } from "@/lib/cron/tick";
import { tickWorld } from "../support/memory-tick-store";

/** The tick's parts fail alone: a store call, a schedule, a dispatch, an alert hook; and the sweep's report. */

const MIN = 60_000;
const T0 = Date.parse("2026-08-01T08:00:30Z");
let counter = 0;
const job = (config: Partial<JobConfig> = {}) => defineJob({ name: `tick-iso-${++counter}`, schedule: "*/10 * * * *", handler: () => {}, ...config });
const boom = (what: string) => new Error(`${what}: connection terminated`);
const ticksOf = (calls: DispatchRequest[]) => calls.filter((c) => c.trigger === "tick").map((c) => c.jobName);

describe("error isolation", () => {
  it("one job's store error is reported under its name; the other jobs' work goes on, and its own is done next tick", async () => {
    const failing = job();
    const fine = job();
    const owned = job({ schedule: { cron: "* * * * *", timezone: "Asia/Tokyo" } });
    const w = tickWorld([failing, fine, owned]);
    await w.tick(T0);
    w.store.failNext("recordMissedSlots", boom("recordMissedSlots"), failing.name);
    const report = await w.tick(T0 + 11 * MIN); // 08:00 and 08:10 got no trigger
    expect(report.errors).toEqual([{ scope: failing.name, error: "recordMissedSlots: connection terminated" }]);
    expect(report.missed.map((m) => m.jobName)).toEqual([fine.name, owned.name]);
    expect(ticksOf(w.log.calls)).toEqual([owned.name, owned.name]);
    // Its bookmark did not move: the next tick records the slot it could not.
    const next = await w.tick(T0 + 12 * MIN);
    expect(next.errors).toEqual([]);
    expect(next.missed.map((m) => [m.jobName, m.slots])).toEqual([[failing.name, ["2026-08-01T08:00:00.000Z", "2026-08-01T08:10:00.000Z"]]]);
  });

  it("a job whose schedule throws is reported; the jobs after it are still checked and dispatched", async () => {
    const broken = { ...job({ dispatch: "tick" }), schedule: { cron: "0 3 * * *", timezone: "Mars/Olympus_Mons" } };
    const owned = job({ schedule: { cron: "* * * * *", timezone: "Europe/Paris" } });
    const w = tickWorld([broken, owned]);
    const report = await w.tick(T0);
    expect(report.errors.map((e) => e.scope)).toEqual([broken.name]);
    expect(report.dispatched.map((d) => [d.request.jobName, d.status])).toEqual([[owned.name, 200]]);
  });

  it("a failed sweep or retry query stops neither the other one nor the missed-slot check", async () => {
    const j = job();
    const w = tickWorld([j]);
    await w.tick(T0);
    const id = w.store.deferRetry(j.name, new Date(T0));
    w.store.failNext("sweepExpiredLeases", boom("sweep"));
    w.store.failNext("settleOrphanedRetries", boom("orphans"));
    const report = await w.tick(T0 + 11 * MIN);
    expect(report.errors.map((e) => e.scope)).toEqual(["sweep", "orphaned retries"]);
    expect(report.retries.map((r) => r.request)).toEqual([{ jobName: j.name, trigger: "retry", runId: id }]);
    expect(report.missed).toHaveLength(1);
  });

  it("without the job states, checks no missed slot (losing none) and still dispatches the jobs it owns", async () => {
    const j = job();
    const owned = job({ schedule: { cron: "* * * * *", timezone: "Europe/Paris" } });
    const w = tickWorld([j, owned]);
    await w.tick(T0);
    w.store.failNext("jobConfigs", boom("jobConfigs"));
    const blind = await w.tick(T0 + 11 * MIN);
    expect(blind).toMatchObject({ missed: [], errors: [{ scope: "job states" }] });
    expect(blind.dispatched.map((d) => d.request.jobName)).toEqual([owned.name]);
    expect((await w.tick(T0 + 12 * MIN)).missed.find((m) => m.jobName === j.name)?.slots).toEqual(["2026-08-01T08:00:00.000Z", "2026-08-01T08:10:00.000Z"]);
  });

  it("a dispatch that throws is a result with its error; the store not answering which slots are claimed dispatches them all", async () => {
    const a = job({ schedule: { cron: "* * * * *", timezone: "Europe/Paris" } });
    const b = job({ schedule: { cron: "* * * * *", timezone: "Europe/Paris" } });
    const w = tickWorld([a, b], {
      dispatch: async (request) => {
        if (request.jobName === a.name) throw new Error("socket hang up");
        return { request, status: 200 };
      },
    });
    w.store.failNext("claimedSlots", boom("claimedSlots"));
    const report = await w.tick(T0);
    expect(report.errors.map((e) => e.scope)).toEqual(["dispatch"]);
    expect(report.dispatched.map((d) => [d.request.jobName, d.status, d.error ?? null])).toEqual([
      [a.name, null, "socket hang up"],
      [b.name, 200, null],
    ]);
  });

  it("takes a catch-up the route refuses for good (4xx) out of the queue and reports it; a 503 stays queued", async () => {
    const refused = job({ missed: "once" });
    const busy = job({ missed: "once" });
    const w = tickWorld([refused, busy], { answer: (r) => (r.jobName === refused.name ? 400 : 503) });
    await w.tick(T0);
    const report = await w.tick(T0 + 11 * MIN);
    expect(report.errors.map((e) => e.scope)).toEqual([refused.name]);
    expect(report.errors[0].error).toContain("refused the catch-up of 2026-08-01T08:10:00.000Z with 400");
    await w.tick(T0 + 12 * MIN);
    const catchUps = w.log.calls.filter((c) => c.trigger === "catchup").map((c) => c.jobName);
    expect(catchUps).toEqual([refused.name, busy.name, busy.name]);
  });

  it("keeps a catch-up queued when its dispatch is refused for credentials (401/403: protection or another secret)", async () => {
    const protectedJob = job({ missed: "once" });
    const forbidden = job({ missed: "once" });
    const w = tickWorld([protectedJob, forbidden], { answer: (r) => (r.jobName === protectedJob.name ? 401 : 403) });
    await w.tick(T0);
    const report = await w.tick(T0 + 11 * MIN);
    expect(report.errors).toEqual([]);
    await w.tick(T0 + 12 * MIN);
    const catchUps = w.log.calls.filter((c) => c.trigger === "catchup").map((c) => c.jobName);
    expect(catchUps).toEqual([protectedJob.name, forbidden.name, protectedJob.name, forbidden.name]);
  });

  it("an alert hook that fails is logged, not reported as the tick's error", async () => {
    const j = job();
    const logs: string[] = [];
    const failing = async () => {
      throw new Error("webhook down");
    };
    const w = tickWorld([j], { onAbandoned: failing, onMissed: failing, log: (m) => logs.push(m) });
    await w.tick(T0);
    const report = await w.tick(T0 + 11 * MIN);
    expect(report.errors).toEqual([]);
    expect(report.missed).toHaveLength(1);
    // The abandoned-run hook on both ticks, the missed-run hook once.
    expect(logs.filter((l) => l.includes("webhook down"))).toHaveLength(3);
  });
});

describe("the sweep", () => {
  it("reports runs whose lease expired (job leases and runs' own), once, and calls onAbandoned on every tick", async () => {
    const j = job();
    let told = 0;
    const logs: string[] = [];
    const w = tickWorld([j], { onAbandoned: async () => void told++, log: (m) => logs.push(m) });
    w.clock.t = T0;
    const held = w.store.startRun(j.name, "host-a:1", new Date(T0 + 30_000));
    const allowed = w.store.startRun("tick-iso-allow", "host-b:2", new Date(T0 + 20_000), { jobLease: false });
    w.store.startRun("tick-iso-alive", "host-c:3", new Date(T0 + 3_600_000));
    const report = await w.tick(T0 + (LONG_EXPIRED_SECONDS + 60) * 1_000);
    expect(report.abandoned.map((a) => [a.runId, a.holder, a.heldForSeconds])).toEqual([
      [held, "host-a:1", 30],
      [allowed, "host-b:2", 20],
    ]);
    expect(logs.filter((l) => l.includes("WARNING: expired long ago"))).toHaveLength(2);
    expect((await w.tick(T0 + 20 * MIN)).abandoned).toEqual([]);
    expect(told).toBe(2);
  });
});
