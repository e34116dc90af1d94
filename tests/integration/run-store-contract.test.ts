import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { sleepOn, systemClock } from "@/lib/cron/clock";
import type { AttemptRecord, ClaimInput, FinishInput, LogLine, RunProgress, RunStore } from "@/lib/cron/run-store";
import type { RunStatus } from "@/lib/cron/vocabulary";
import { queryRows } from "@/lib/db/client";
import { jsonValue } from "@/lib/db/rows";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * One contract, two stores: the engine's fake-clock unit tests run on the in-memory RunStore,
 * so it must answer as the Postgres store does. Each case runs on both, through the port (the
 * world adds what the port does not offer: moving the store's clock, reading a run's status,
 * counting a job's leases, pausing a job).
 */

interface World {
  store: RunStore;
  /** Lets `ms` pass on the store's clock (Postgres: real time; the leases are short). */
  advance(ms: number): Promise<void>;
  statusOf(runId: string): Promise<RunStatus | undefined>;
  leasesOf(jobName: string): Promise<number>;
  pause(jobName: string): Promise<void>;
  /** What a run's row shows of its progress. */
  progressOf(runId: string): Promise<{ attempts: number; logLines: LogLine[]; attemptDetails: AttemptRecord[] }>;
}

/** Long enough that a loaded machine does not see a lease expire between two claims, short enough to wait out. */
const LEASE_MS = 2_000;

function contract(make: () => World) {
  let world: World;
  let store: RunStore;
  let job: string;
  beforeEach(() => {
    world = make();
    store = world.store;
    job = `contract-${randomUUID().slice(0, 8)}`;
  });

  const claimInput = (over: Partial<ClaimInput> = {}): ClaimInput => ({
    jobName: job, trigger: "schedule", scheduledFor: null, dedupeKey: null, overlap: "skip", enabledByDefault: true,
    checkState: true, leaseMs: LEASE_MS, holder: "host:1", codeVersion: "v1", actor: null, ...over,
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
    await claimed({ dedupeKey: `slot:${job}` });
    expect(await store.claim(claimInput({ dedupeKey: `slot:${job}` }))).toMatchObject({ outcome: "skipped", reason: "duplicate" });
  });

  it("holds one lease per job until it expires by the store's clock, then abandons the old run", async () => {
    const first = await claimed();
    expect(await store.claim(claimInput())).toMatchObject({ outcome: "skipped", reason: "already_running", blockingRunId: first.runId });
    await world.advance(LEASE_MS + 300);
    const second = await claimed();
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(await world.statusOf(first.runId)).toBe("abandoned");
  });

  it("fences: a stale holder's heartbeat and finish change nothing", async () => {
    const first = await claimed();
    await world.advance(LEASE_MS + 300);
    const second = await claimed();
    expect(await store.heartbeat(first.runId, first.fencingToken, LEASE_MS)).toEqual({ alive: false, cancelRequested: false });
    expect(await store.finish(finishInput(first.runId, first.fencingToken))).toMatchObject({ finished: false, takenOverBy: second.runId });
    expect(await store.heartbeat(second.runId, second.fencingToken, LEASE_MS)).toEqual({ alive: true, cancelRequested: false });
    expect(await store.finish(finishInput(second.runId, second.fencingToken))).toMatchObject({ finished: true });
    expect(await world.leasesOf(job)).toBe(0);
  });

  it("queues one run behind a replace job's holder, asks the holder to stop, and promotes the queued run once the lease is free", async () => {
    const holder = await claimed({ overlap: "replace" });
    const queued = await store.claim(claimInput({ overlap: "replace" }));
    expect(queued).toMatchObject({ outcome: "queued", blockingRunId: holder.runId });
    expect(await store.claim(claimInput({ overlap: "replace" }))).toMatchObject({ outcome: "skipped", reason: "already_running" });
    expect(await store.heartbeat(holder.runId, holder.fencingToken, LEASE_MS)).toEqual({ alive: true, cancelRequested: true });
    expect(await store.promote(queued.runId, LEASE_MS, "host:1")).toEqual({ outcome: "waiting" });
    await store.finish({ ...finishInput(holder.runId, holder.fencingToken), status: "replaced" });
    expect(await store.promote(queued.runId, LEASE_MS, "host:1")).toMatchObject({ outcome: "claimed" });
  });

  const line = (n: number): LogLine => ({ at: `2026-11-24T10:00:0${n}.000Z`, message: `line ${n}`, data: { n } });
  const progress = (logFrom: number, lines: number[], over: Partial<RunProgress> = {}): RunProgress => ({
    attempts: 1, attemptDetails: null, logFrom, logLines: lines.map(line), ...over,
  });

  it("writes a running run's progress with its heartbeat: the log's tail after the lines it has, each line once when a tail is sent again", async () => {
    const run = await claimed();
    expect(await store.heartbeat(run.runId, run.fencingToken, LEASE_MS, progress(0, [1, 2]))).toEqual({ alive: true, cancelRequested: false });
    expect(await world.progressOf(run.runId)).toMatchObject({ attempts: 1, logLines: [line(1), line(2)], attemptDetails: [] });
    // The reply of that heartbeat was lost: the holder sends the same tail again, with one more line.
    await store.heartbeat(run.runId, run.fencingToken, LEASE_MS, progress(0, [1, 2, 3]));
    expect((await world.progressOf(run.runId)).logLines).toEqual([line(1), line(2), line(3)]);
    const attempt: AttemptRecord = { attempt: 1, startedAt: "2026-11-24T10:00:00.000Z", durationMs: 5, error: "boom" };
    await store.heartbeat(run.runId, run.fencingToken, LEASE_MS, progress(3, [4], { attempts: 2, attemptDetails: [attempt] }));
    expect(await world.progressOf(run.runId)).toMatchObject({ attempts: 2, logLines: [line(1), line(2), line(3), line(4)], attemptDetails: [attempt] });
    // A heartbeat without progress leaves it; the finish writes the whole log once.
    await store.heartbeat(run.runId, run.fencingToken, LEASE_MS);
    expect((await world.progressOf(run.runId)).logLines).toHaveLength(4);
    await store.finish({ ...finishInput(run.runId, run.fencingToken), attempts: 2, logLines: [1, 2, 3, 4, 5].map(line), attemptDetails: [attempt, { ...attempt, attempt: 2, error: undefined }] });
    expect((await world.progressOf(run.runId)).logLines).toEqual([1, 2, 3, 4, 5].map(line));
  });

  it("fences progress like the lease: a stale holder's tail and one sent after the finish change nothing", async () => {
    const first = await claimed();
    await store.heartbeat(first.runId, first.fencingToken, LEASE_MS, progress(0, [1]));
    await world.advance(LEASE_MS + 300);
    const second = await claimed();
    expect(await store.heartbeat(first.runId, first.fencingToken, LEASE_MS, progress(1, [2]))).toEqual({ alive: false, cancelRequested: false });
    expect((await world.progressOf(first.runId)).logLines).toEqual([line(1)]);
    // A timed-out handler that lingers keeps the lease (the finish did not free it) and beats on: its row is done.
    await store.finish({ ...finishInput(second.runId, second.fencingToken), status: "timed_out", logLines: [line(7)], releaseLease: false });
    expect(await store.heartbeat(second.runId, second.fencingToken, LEASE_MS, progress(1, [8], { attempts: 3 }))).toEqual({ alive: true, cancelRequested: false });
    expect(await world.progressOf(second.runId)).toMatchObject({ attempts: 1, logLines: [line(7)] });
  });

  it("writes progress of an overlap allow run, whose own row is its lease", async () => {
    const run = await claimed({ overlap: "allow" });
    expect(await store.heartbeat(run.runId, run.fencingToken, LEASE_MS, progress(0, [1]))).toEqual({ alive: true, cancelRequested: false });
    expect((await world.progressOf(run.runId)).logLines).toEqual([line(1)]);
  });

  it("skips scheduled triggers of a paused job, and runs an operator's", async () => {
    await world.pause(job);
    expect(await store.claim(claimInput())).toMatchObject({ outcome: "skipped", reason: "paused" });
    await claimed({ trigger: "manual", checkState: false });
  });
}

describe("run store contract [memory]", () => {
  contract(() => {
    const clock = new ManualClock();
    const store = new MemoryRunStore(() => clock.now());
    return {
      store,
      advance: (ms) => clock.advance(ms),
      statusOf: async (runId) => store.runs.get(runId)?.status,
      leasesOf: async (jobName) => [...store.leases.keys()].filter((k) => k === jobName).length,
      pause: async (jobName) => {
        store.states.set(jobName, { paused: true });
      },
      progressOf: async (runId) => {
        const row = store.runs.get(runId)!;
        return { attempts: row.attempts, logLines: row.logLines, attemptDetails: row.attemptDetails };
      },
    };
  });
});

describeOnDatabases("run store contract", (ctx) => {
  contract(() => ({
    store: new PostgresRunStore(ctx.db),
    advance: (ms) => sleepOn(systemClock, ms),
    statusOf: async (runId) => (await queryRows<{ status: RunStatus }>(ctx.db, sql`SELECT status FROM cron_job_logs WHERE id = ${runId}::uuid`))[0]?.status,
    leasesOf: async (jobName) => (await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_job_leases WHERE job_name = ${jobName}`))[0].n,
    pause: async (jobName) => {
      await ctx.db.execute(sql`INSERT INTO cron_job_config (job_name, paused) VALUES (${jobName}, true) ON CONFLICT (job_name) DO UPDATE SET paused = true`);
    },
    progressOf: async (runId) => {
      const [row] = await queryRows<{ attempts: number; log_lines: unknown; attempt_details: unknown }>(
        ctx.db,
        sql`SELECT attempts, log_lines, attempt_details FROM cron_job_logs WHERE id = ${runId}::uuid`,
      );
      return { attempts: row.attempts, logLines: jsonValue<LogLine[]>(row.log_lines) ?? [], attemptDetails: jsonValue<AttemptRecord[]>(row.attempt_details) ?? [] };
    },
  }));
});
