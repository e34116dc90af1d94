import { beforeEach, expect, it } from "vitest";
import type { ClaimInput, FinishInput } from "@/lib/cron/run-store";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * The in-memory RunStore the engine's clock tests run on keeps the port's contract: if it did
 * not, those tests would prove nothing about the Postgres store.
 */

let clock: ManualClock;
let store: MemoryRunStore;
beforeEach(() => {
  clock = new ManualClock();
  store = new MemoryRunStore(() => clock.now());
});

const claimInput = (over: Partial<ClaimInput> = {}): ClaimInput => ({
  jobName: "job-a", trigger: "schedule", scheduledFor: null, dedupeKey: null, overlap: "skip", enabledByDefault: true,
  checkState: true, leaseMs: 30_000, holder: "host:1", codeVersion: "v1", actor: null, ...over,
});
const finishInput = (runId: string, fencingToken: number): FinishInput => ({
  runId, fencingToken, status: "completed", attempts: 1, errorMessage: null, errorStack: null, output: null, logLines: [], attemptDetails: [], releaseLease: true,
});
const claimed = async (over: Partial<ClaimInput> = {}) => {
  const c = await store.claim(claimInput(over));
  if (c.outcome !== "claimed") throw new Error(`expected a claim, got ${c.outcome}`);
  return c;
};

it("gives a slot one run: a second claim of its key is a duplicate skip", async () => {
  await claimed({ dedupeKey: "slot:a" });
  expect(await store.claim(claimInput({ dedupeKey: "slot:a" }))).toMatchObject({ outcome: "skipped", reason: "duplicate" });
});

it("holds one lease per job until it expires by the store's clock, then abandons the old run", async () => {
  const first = await claimed();
  expect(await store.claim(claimInput())).toMatchObject({ outcome: "skipped", reason: "already_running", blockingRunId: first.runId });
  await clock.advance(30_000);
  const second = await claimed();
  expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
  expect(store.runs.get(first.runId)?.status).toBe("abandoned");
});

it("fences: a stale holder's heartbeat and finish change nothing", async () => {
  const first = await claimed();
  await clock.advance(30_000);
  const second = await claimed();
  expect(await store.heartbeat(first.runId, first.fencingToken, 30_000)).toEqual({ alive: false, cancelRequested: false });
  expect(await store.finish(finishInput(first.runId, first.fencingToken))).toMatchObject({ finished: false, takenOverBy: second.runId });
  expect(await store.heartbeat(second.runId, second.fencingToken, 30_000)).toEqual({ alive: true, cancelRequested: false });
  expect(await store.finish(finishInput(second.runId, second.fencingToken))).toMatchObject({ finished: true });
  expect(store.leases.size).toBe(0);
});

it("queues one run behind a replace job's holder, asks the holder to stop, and promotes the queued run once the lease is free", async () => {
  const holder = await claimed({ overlap: "replace" });
  const queued = await store.claim(claimInput({ overlap: "replace" }));
  expect(queued).toMatchObject({ outcome: "queued", blockingRunId: holder.runId });
  expect(await store.claim(claimInput({ overlap: "replace" }))).toMatchObject({ outcome: "skipped", reason: "already_running" });
  expect(await store.heartbeat(holder.runId, holder.fencingToken, 30_000)).toEqual({ alive: true, cancelRequested: true });
  expect(await store.promote(queued.runId, 30_000, "host:1")).toEqual({ outcome: "waiting" });
  await store.finish({ ...finishInput(holder.runId, holder.fencingToken), status: "replaced" });
  expect(await store.promote(queued.runId, 30_000, "host:1")).toMatchObject({ outcome: "claimed" });
});

it("skips scheduled triggers of a paused job, and runs an operator's", async () => {
  store.states.set("job-a", { paused: true });
  expect(await store.claim(claimInput())).toMatchObject({ outcome: "skipped", reason: "paused" });
  await claimed({ trigger: "manual", checkState: false });
});
