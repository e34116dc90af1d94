import { describe, expect, it } from "vitest";
import { defineJob } from "@/lib/cron/define-job";
import { RETRIES_PER_JOB_PER_TICK, RETRIES_PER_TICK, type DispatchRequest, type DispatchResult } from "@/lib/cron/tick";
import { tickWorld } from "../support/memory-tick-store";

/** Due deferred retries on a fake clock: when they start, the caps per job and per tick, jobs gone from the registry. */

const MIN = 60_000;
const T0 = Date.parse("2026-07-01T06:00:00Z");
let counter = 0;
const job = () => defineJob({ name: `tick-retry-${++counter}`, schedule: "0 0 1 1 *", handler: () => {} });
/** The execute route is unavailable: every retry stays due. */
const unavailable = async (request: DispatchRequest): Promise<DispatchResult> => ({ request, status: 503 });
const runIds = (results: DispatchResult[]) => results.map((r) => (r.request.trigger === "retry" ? r.request.runId : "?"));

describe("due retries", () => {
  it("starts a retry when it is due and not before, once", async () => {
    const j = job();
    const w = tickWorld([j]);
    const id = w.store.deferRetry(j.name, new Date(T0 + MIN));
    expect((await w.tick(T0 + MIN - 1)).retries).toEqual([]);
    const due = await w.tick(T0 + MIN);
    expect(due.retries).toEqual([{ request: { jobName: j.name, trigger: "retry", runId: id }, status: 200 }]);
    expect((await w.tick(T0 + 2 * MIN)).retries).toEqual([]);
    expect(w.log.ran).toEqual([`${j.name} retry ${id}`]);
  });

  it(`starts at most ${RETRIES_PER_JOB_PER_TICK} of one job per tick, oldest first, without holding back another job's`, async () => {
    const busy = job();
    const other = job();
    const w = tickWorld([busy, other], { dispatch: unavailable });
    const busyIds = Array.from({ length: 10 }, (_, i) => w.store.deferRetry(busy.name, new Date(T0 + i * 1_000)));
    const otherId = w.store.deferRetry(other.name, new Date(T0 + 30_000));
    const report = await w.tick(T0 + 5 * MIN);
    expect(runIds(report.retries)).toEqual([...busyIds.slice(0, RETRIES_PER_JOB_PER_TICK), otherId]);
  });

  it(`starts at most ${RETRIES_PER_TICK} per tick in all, the oldest across jobs`, async () => {
    const jobs = Array.from({ length: 12 }, job);
    const w = tickWorld(jobs, { dispatch: unavailable });
    // Three retries per job, interleaved in time: job k's n-th is due at T0 + (n*12 + k) s.
    const due: Array<{ id: string; at: number }> = [];
    for (let n = 0; n < 3; n++) jobs.forEach((j, k) => due.push({ id: w.store.deferRetry(j.name, new Date(T0 + (n * 12 + k) * 1_000)), at: n * 12 + k }));
    const report = await w.tick(T0 + 5 * MIN);
    const firstTwoOfEach = due.filter((d) => d.at < 24).sort((a, b) => a.at - b.at).slice(0, RETRIES_PER_TICK);
    expect(runIds(report.retries)).toEqual(firstTwoOfEach.map((d) => d.id));
  });

  it("ties on the due time go by run id, as the Postgres store orders them", async () => {
    const j = job();
    const w = tickWorld([j], { dispatch: unavailable });
    const ids = [w.store.deferRetry(j.name, new Date(T0)), w.store.deferRetry(j.name, new Date(T0)), w.store.deferRetry(j.name, new Date(T0))];
    expect(runIds((await w.tick(T0 + MIN)).retries)).toEqual(ids.slice(0, 2));
  });

  it("settles due retries of a job gone from the registry as failed, once, and tells onOrphaned once", async () => {
    const real = job();
    const told: unknown[] = [];
    const w = tickWorld([real], { onOrphaned: async (runs) => void told.push(runs) });
    const goneId = w.store.deferRetry("tick-retry-gone", new Date(T0));
    const realId = w.store.deferRetry(real.name, new Date(T0));
    const report = await w.tick(T0 + MIN);
    expect(report.orphaned).toEqual([{ runId: goneId, jobName: "tick-retry-gone", scheduledFor: null, error: "job tick-retry-gone is no longer in the registry: its deferred retry cannot run" }]);
    expect(runIds(report.retries)).toEqual([realId]);
    expect(w.store.runs.find((r) => r.id === goneId)?.status).toBe("failed");
    expect((await w.tick(T0 + 2 * MIN)).orphaned).toEqual([]);
    expect(told).toHaveLength(1);
    expect(w.log.calls.filter((c) => c.jobName === "tick-retry-gone")).toEqual([]);
  });

  it("dispatches a retry again on the next tick when the route did not take it", async () => {
    const j = job();
    let up = false;
    const w = tickWorld([j], { answer: () => (up ? 200 : 503) });
    const id = w.store.deferRetry(j.name, new Date(T0));
    expect((await w.tick(T0 + MIN)).retries.map((r) => r.status)).toEqual([503]);
    up = true;
    expect((await w.tick(T0 + 2 * MIN)).retries.map((r) => r.status)).toEqual([200]);
    expect((await w.tick(T0 + 3 * MIN)).retries).toEqual([]);
    expect(w.log.ran).toEqual([`${j.name} retry ${id}`]);
  });
});
