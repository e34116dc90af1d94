import { describe, expect, it } from "vitest";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { nextRunAfter } from "@/lib/cron/schedule";
import { envSchema, type Env } from "@/lib/env";
import { applyDispatch, buildRegistry, getRegistry, jobs } from "@/lib/jobs";
import { dispatchOnPlan } from "@/lib/vercel/crons";
import { tickWorld } from "../support/memory-tick-store";

/**
 * CRON_DISPATCH=tick: every job is dispatched by the tick, applied once where the registry is
 * built. On a fake clock, the tick dispatches a UTC job's due slot under it and not without it.
 * The registry's own jobs are only ever checked one by one, never counted.
 */

const envOf = (values: Record<string, string>): Env => envSchema.parse(values);
const TICK_ENV = envOf({ CRON_DISPATCH: "tick" });
const VERCEL_ENV = envOf({});

const utcJob = defineJob({ name: "dispatch-unit-utc", schedule: "*/15 * * * *", handler: () => {} });
const pinnedJob = defineJob({ name: "dispatch-unit-pinned", schedule: "0 8 * * *", dispatch: "vercel", handler: () => {} });
const parisJob = defineJob({ name: "dispatch-unit-paris", schedule: { cron: "30 9 * * *", timezone: "Europe/Paris" }, handler: () => {} });

/** The tick's dispatches at `instant` in a world holding only `job` (Pro's one-minute grace). */
async function dispatchedAt(job: JobDefinition, instant: Date) {
  const { tick, log } = tickWorld([job]);
  const report = await tick(instant.getTime());
  return { report, calls: log.calls.filter((c) => c.trigger === "tick" && c.jobName === job.name) };
}

describe("CRON_DISPATCH", () => {
  it("defaults to vercel, and only vercel or tick are accepted", () => {
    expect(VERCEL_ENV.CRON_DISPATCH).toBe("vercel");
    expect(() => envOf({ CRON_DISPATCH: "cron" })).toThrow(/CRON_DISPATCH/);
  });

  it("tick hands every job to the tick, whatever it said; vercel keeps each job's own dispatch", () => {
    expect(utcJob.dispatch).toBe("vercel");
    expect(applyDispatch([utcJob, pinnedJob, parisJob], "tick").map((j) => [j.name, j.dispatch])).toEqual([
      [utcJob.name, "tick"],
      [pinnedJob.name, "tick"],
      [parisJob.name, "tick"],
    ]);
    expect(applyDispatch([utcJob, pinnedJob, parisJob], "vercel")).toEqual([utcJob, pinnedJob, parisJob]);
    // The definitions themselves are left as they were (a registry built later sees them unchanged).
    expect(utcJob.dispatch).toBe("vercel");
  });

  it("is applied where the registry is built: every job of the registry, demo and fault jobs included", () => {
    const tick = buildRegistry(envOf({ CRON_DISPATCH: "tick", CRON_DEMO: "1", CRONDECK_FAULT_JOBS: "1" }));
    for (const job of tick.list()) expect(job.dispatch, job.name).toBe("tick");
    const vercel = buildRegistry(VERCEL_ENV);
    for (const job of jobs) expect(vercel.get(job.name)?.dispatch, job.name).toBe(dispatchOnPlan(job, "pro"));
  });

  it("the plan's limits too: on Hobby a job that fires more than once a day is the tick's, on Pro it stays Vercel's", () => {
    const hobby = buildRegistry(envOf({ CRON_PLAN: "hobby" }));
    const pro = buildRegistry(envOf({ CRON_PLAN: "pro" }));
    expect(hobby.get("health-check")?.dispatch).toBe("tick");
    expect(pro.get("health-check")?.dispatch).toBe("vercel");
    expect(getRegistry(envOf({ CRON_PLAN: "hobby" })).get("health-check")?.dispatch).toBe("tick");
    expect(getRegistry(envOf({ CRON_PLAN: "pro" })).get("health-check")?.dispatch).toBe("vercel");
  });

  it("is part of the registry cache key: switching it gives the other registry", () => {
    const before = getRegistry(VERCEL_ENV);
    const after = getRegistry(TICK_ENV);
    expect(after).not.toBe(before);
    for (const job of after.list()) expect(job.dispatch, job.name).toBe("tick");
    for (const job of jobs) expect(getRegistry(VERCEL_ENV).get(job.name)?.dispatch, job.name).toBe(dispatchOnPlan(job, "pro"));
  });

  it("the tick dispatches a UTC job's due slot under tick, and not under vercel", async () => {
    const slot = new Date("2026-11-24T10:15:00Z");
    const at = new Date(slot.getTime() + 20_000);
    const [underTick] = applyDispatch([utcJob], "tick");
    const [underVercel] = applyDispatch([utcJob], "vercel");

    const dispatched = await dispatchedAt(underTick!, at);
    expect(dispatched.calls).toEqual([{ jobName: utcJob.name, trigger: "tick", slot }]);
    expect(dispatched.report.errors).toEqual([]);

    const left = await dispatchedAt(underVercel!, at);
    expect(left.calls).toEqual([]);
  });

  it("the tick dispatches the slot that is due now only, once per slot, across two ticks of one minute", async () => {
    const [job] = applyDispatch([utcJob], "tick");
    const { tick, log } = tickWorld([job!]);
    await tick("2026-11-24T10:14:30Z"); // no slot due
    await tick("2026-11-24T10:15:05Z");
    await tick("2026-11-24T10:15:40Z"); // a second delivery of the same minute: already claimed
    await tick("2026-11-24T10:16:05Z"); // past the slot's grace: not dispatched again
    expect(log.calls.filter((c) => c.trigger === "tick").map((c) => (c.trigger === "tick" ? c.slot.toISOString() : ""))).toEqual(["2026-11-24T10:15:00.000Z"]);
    expect(log.ran).toEqual([`${utcJob.name} tick 2026-11-24T10:15:00.000Z`]);
  });

  it("each job of the registry built with CRON_DISPATCH=tick is dispatched by the tick at its next slot, timezones included", async () => {
    const from = new Date("2026-11-24T00:00:00Z");
    for (const job of buildRegistry(TICK_ENV).list()) {
      const slot = nextRunAfter(job.schedule, from)!;
      const { calls } = await dispatchedAt(job, new Date(slot.getTime() + 1_000));
      expect(calls, job.name).toEqual([{ jobName: job.name, trigger: "tick", slot }]);
    }
    const [paris] = applyDispatch([parisJob], "tick");
    const { calls } = await dispatchedAt(paris!, new Date("2026-11-24T08:30:10Z")); // 09:30 in Paris (UTC+1)
    expect(calls).toEqual([{ jobName: parisJob.name, trigger: "tick", slot: new Date("2026-11-24T08:30:00Z") }]);
  });
});
