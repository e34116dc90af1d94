import { describe, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { MAX_SLOTS_PER_TICK, type DispatchRequest, type TickReport } from "@/lib/cron/tick";
import { tickWorld } from "../support/memory-tick-store";

/**
 * The tick's missed-slot rules on a fake clock and the in-memory store: the grace per plan,
 * the `missed` policies and their caps, DST days, a clock that goes back, a minute ticked twice.
 */

const MIN = 60_000;
const HOBBY_GRACE = 60 * MIN;
const at = (iso: string) => new Date(iso).getTime();
const isoOf = (slots: Date[]) => slots.map((s) => s.toISOString());

let counter = 0;
const job = (config: Partial<JobConfig> = {}) => defineJob({ name: `tick-unit-${++counter}`, schedule: "*/10 * * * *", handler: () => {}, ...config });

const world = (jobs: ReturnType<typeof job>[], options: { graceMs?: number } = {}) => tickWorld(jobs, options);

const catchUpSlots = (calls: DispatchRequest[]) => calls.flatMap((c) => (c.trigger === "catchup" ? [c.slot.toISOString()] : []));

describe("missed slots and the grace", () => {
  it("on Pro, counts a slot missed one minute after it, not before", async () => {
    const j = job({ schedule: "0 8 * * *" });
    const { tick, store } = world([j]);
    await tick("2026-11-21T07:00:00Z"); // first sight
    expect((await tick(at("2026-11-21T08:01:00Z") - 1)).missed).toEqual([]);
    const report = await tick("2026-11-21T08:01:00Z");
    expect(report.missed).toEqual([{ jobName: j.name, slots: ["2026-11-21T08:00:00.000Z"], policy: "skip", catchUps: 0 }]);
    expect(store.rowsOf(j.name, "missed").map((r) => r.dedupeKey)).toEqual(["missed:2026-11-21T08:00:00.000Z"]);
  });

  it("on Hobby, waits an hour (Vercel fires anywhere in it), and a late trigger within it is no miss", async () => {
    const late = job({ schedule: "0 8 * * *" });
    const never = job({ schedule: "0 8 * * *" });
    const { tick, store } = world([late, never], { graceMs: HOBBY_GRACE });
    await tick("2026-11-21T07:00:00Z");
    store.claimSlot(late.name, new Date("2026-11-21T08:00:00Z")); // Vercel fired at 08:59
    expect((await tick(at("2026-11-21T09:00:00Z") - 1)).missed).toEqual([]);
    const report = await tick("2026-11-21T09:00:00Z");
    expect(report.missed.map((m) => [m.jobName, m.slots])).toEqual([[never.name, ["2026-11-21T08:00:00.000Z"]]]);
  });

  it("expects nothing of a job before it was first seen, nor while it is paused or disabled", async () => {
    const j = job();
    const { tick, store } = world([j]);
    expect((await tick("2026-11-22T08:00:30Z")).missed).toEqual([]);
    store.setConfig(j.name, { paused: true });
    expect((await tick("2026-11-22T09:00:30Z")).missed).toEqual([]);
    store.setConfig(j.name, { paused: false, enabled: false });
    expect((await tick("2026-11-22T09:30:30Z")).missed).toEqual([]);
    store.setConfig(j.name, { enabled: null });
    // Checking resumes from the last tick that saw it inactive, less the grace.
    expect((await tick("2026-11-22T09:41:00Z")).missed[0].slots).toEqual(["2026-11-22T09:30:00.000Z", "2026-11-22T09:40:00.000Z"]);
  });

  it("checks at most MAX_SLOTS_PER_TICK slots of a job per tick and takes up the rest on the next", async () => {
    const j = job({ schedule: "* * * * *" });
    const { tick } = world([j]);
    await tick("2026-11-01T00:00:00Z");
    const first = await tick(at("2026-11-01T00:00:00Z") + (MAX_SLOTS_PER_TICK + 500) * MIN);
    expect(first.missed[0].slots).toHaveLength(MAX_SLOTS_PER_TICK);
    const second = await tick(at("2026-11-01T00:00:00Z") + (MAX_SLOTS_PER_TICK + 500) * MIN + 1_000);
    expect(second.missed[0].slots).toHaveLength(500);
    expect(second.missed[0].slots[0]).toBe(new Date(at("2026-11-01T00:00:00Z") + MAX_SLOTS_PER_TICK * MIN).toISOString());
  });
});

describe("the missed policies", () => {
  const scenario = async (missed: JobConfig["missed"]) => {
    const j = job({ missed });
    const w = world([j]);
    await w.tick("2026-11-21T08:00:30Z");
    w.store.claimSlot(j.name, new Date("2026-11-21T08:00:00Z"));
    const report = await w.tick("2026-11-21T08:41:00Z"); // 08:10, 08:20, 08:30, 08:40 got no trigger
    for (const minute of ["08:42", "08:43", "08:44", "08:45", "08:46"]) await w.tick(`2026-11-21T${minute}:00Z`);
    return { report, catchUps: catchUpSlots(w.log.calls), ran: w.log.ran };
  };
  const missedFour = ["2026-11-21T08:10:00.000Z", "2026-11-21T08:20:00.000Z", "2026-11-21T08:30:00.000Z", "2026-11-21T08:40:00.000Z"];

  it("skip: records the slots and runs none of them", async () => {
    const { report, catchUps } = await scenario("skip");
    expect(report.missed).toEqual([expect.objectContaining({ slots: missedFour, policy: "skip", catchUps: 0 })]);
    expect(catchUps).toEqual([]);
  });

  it("once: runs the latest missed slot once", async () => {
    const { report, catchUps, ran } = await scenario("once");
    expect(report.missed[0]).toMatchObject({ slots: missedFour, catchUps: 1 });
    expect(catchUps).toEqual(["2026-11-21T08:40:00.000Z"]);
    expect(ran).toHaveLength(1);
  });

  it("all: runs the latest `max` missed slots, oldest first, one per tick", async () => {
    const { report, catchUps } = await scenario({ policy: "all", max: 2 });
    expect(report.missed[0]).toMatchObject({ slots: missedFour, catchUps: 2 });
    expect(catchUps).toEqual(["2026-11-21T08:30:00.000Z", "2026-11-21T08:40:00.000Z"]);
    expect((await scenario({ policy: "all", max: 10 })).catchUps).toEqual(missedFour);
  });

  it("dispatches no catch-up while a run of the job holds its lease", async () => {
    const j = job({ missed: "once" });
    const w = world([j]);
    await w.tick("2026-11-21T08:00:30Z");
    w.store.startRun(j.name, "busy:1", new Date("2026-11-21T08:13:00Z"));
    await w.tick("2026-11-21T08:11:00Z");
    await w.tick("2026-11-21T08:12:00Z");
    expect(catchUpSlots(w.log.calls)).toEqual([]);
    await w.tick("2026-11-21T08:13:00Z"); // the lease expired: swept, and the catch-up goes
    expect(catchUpSlots(w.log.calls)).toEqual(["2026-11-21T08:10:00.000Z"]);
  });
});

describe("DST days in a timezone job (02:30 Europe/Paris, dispatched by the tick)", () => {
  /** Ticks every minute over the night, each at a different second, and returns what ran. */
  const walk = async (fromIso: string, toIso: string) => {
    const j = job({ schedule: { cron: "30 2 * * *", timezone: "Europe/Paris" } });
    const w = world([j]);
    const reports: TickReport[] = [];
    for (let t = at(fromIso); t <= at(toIso); t += MIN) reports.push(await w.tick(t + ((t / MIN) * 37 % 60) * 1_000));
    return { ran: w.log.ran, missed: reports.flatMap((r) => r.missed), errors: reports.flatMap((r) => r.errors), ticks: w.log.calls.filter((c) => c.trigger === "tick").length };
  };

  it.each([
    ["spring forward: the skipped 02:30 runs once, shifted by the gap to 03:30 CEST", "2026-03-28T23:00:00Z", "2026-03-29T03:00:00Z", "2026-03-29T01:30:00.000Z"],
    ["fall back: the repeated 02:30 runs once, at its first occurrence (CEST)", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z", "2026-10-25T00:30:00.000Z"],
  ])("%s", async (_title, from, to, slot) => {
    const { ran, missed, errors, ticks } = await walk(from, to);
    expect(ran.map((r) => r.split(" ").slice(1).join(" "))).toEqual([`tick ${slot}`]);
    expect(ticks).toBe(1);
    expect(missed).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("records one missed slot per DST day when nothing ran", async () => {
    const j = job({ schedule: { cron: "30 2 * * *", timezone: "Europe/Paris" } });
    const { tick } = world([j]);
    await tick("2026-03-28T12:00:00Z");
    expect((await tick("2026-03-29T12:00:00Z")).missed[0].slots).toEqual(["2026-03-29T01:30:00.000Z"]);
    await tick("2026-10-24T12:00:00Z");
    expect((await tick("2026-10-25T12:00:00Z")).missed[0].slots).toEqual(["2026-10-25T00:30:00.000Z"]);
  });
});

describe("a clock that goes back, and a minute ticked twice", () => {
  it("records nothing twice and does not fail when the clock is earlier than the last checked point", async () => {
    const j = job();
    const { tick, store } = world([j]);
    await tick("2026-11-21T08:00:30Z");
    expect(isoOf(store.rowsOf(j.name, "missed").map((r) => r.scheduledFor!))).toEqual([]);
    const first = await tick("2026-11-21T08:31:00Z");
    expect(first.missed[0].slots).toEqual(["2026-11-21T08:00:00.000Z", "2026-11-21T08:10:00.000Z", "2026-11-21T08:20:00.000Z", "2026-11-21T08:30:00.000Z"]);
    const bookmark = store.configs.get(j.name)!.missedCheckedUntil;
    const back = await tick("2026-11-21T07:15:00Z"); // an hour and a quarter back
    expect(back).toMatchObject({ missed: [], errors: [] });
    expect(store.configs.get(j.name)!.missedCheckedUntil).toEqual(bookmark);
    expect((await tick("2026-11-21T08:31:00Z")).missed).toEqual([]);
    expect((await tick("2026-11-21T08:41:00Z")).missed[0].slots).toEqual(["2026-11-21T08:40:00.000Z"]);
    expect(store.rowsOf(j.name, "missed")).toHaveLength(5);
  });

  it("a second tick of the same minute dispatches and records nothing the first did", async () => {
    const owned = job({ schedule: { cron: "* * * * *", timezone: "Europe/Paris" } });
    const catchingUp = job({ missed: "once" });
    const retried = job();
    const w = world([owned, catchingUp, retried]);
    await w.tick("2026-11-21T08:00:30Z");
    w.store.deferRetry(retried.name, new Date("2026-11-21T08:20:00Z"));
    w.log.calls.length = 0;
    const first = await w.tick("2026-11-21T08:21:10Z");
    const second = await w.tick("2026-11-21T08:21:10Z");
    expect(first.missed.map((m) => m.jobName)).toEqual([owned.name, catchingUp.name, retried.name]);
    expect(second).toMatchObject({ missed: [], retries: [], dispatched: [], errors: [] });
    const calls = w.log.calls.map((c) => `${c.jobName} ${c.trigger}`);
    expect(calls.sort()).toEqual([`${catchingUp.name} catchup`, `${owned.name} tick`, `${retried.name} retry`].sort());
    expect(w.store.rowsOf(catchingUp.name, "missed")).toHaveLength(3);
    expect(w.log.ran.filter((r) => r.startsWith(`${owned.name} tick 2026-11-21T08:21`))).toHaveLength(1);
  });
});
