import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { runTrigger, type EngineDeps, type RunReport, type TriggerOutcome } from "@/lib/cron/run-job";
import type { AttemptRecord, FinishInput, FinishResult, HeartbeatResult, RunStore } from "@/lib/cron/run-store";
import { queryRows } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

/**
 * The life of a run that holds its lease: heartbeats, the local lease deadline, attempts and
 * retries, the fenced finish and what the caller is told. Database faults are injected by a
 * run store that wraps the real one and fails chosen calls the way a dropped connection does
 * (everything else commits for real); a freeze is a fake clock that jumps.
 */

let counter = 0;
const uniqueName = () => `lifetime-job-${process.pid}-${++counter}`;
const job = (overrides: Partial<JobConfig> = {}) => defineJob({ name: uniqueName(), schedule: "*/5 * * * *", handler: async () => "ok", ...overrides });
const ran = (o: TriggerOutcome): RunReport => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const connectionError = () => Object.assign(new Error("Connection terminated unexpectedly"), { code: "57P01" });

/** The real store, with heartbeats and finishes that can be made to fail like a lost connection. */
class FaultyRunStore implements RunStore {
  heartbeatMode: "pass" | "fail" = "pass";
  /** The next this-many finish calls fail (Infinity: all). */
  failFinishes = 0;
  /** The next this-many finish calls commit, then fail as if the reply was lost. */
  loseFinishReplies = 0;
  heartbeats = 0;
  finishCalls = 0;
  constructor(private readonly real: PostgresRunStore) {}
  claim = (...a: Parameters<RunStore["claim"]>) => this.real.claim(...a);
  recordSkip = (...a: Parameters<RunStore["recordSkip"]>) => this.real.recordSkip(...a);
  promote = (...a: Parameters<RunStore["promote"]>) => this.real.promote(...a);
  dropQueued = (...a: Parameters<RunStore["dropQueued"]>) => this.real.dropQueued(...a);
  claimRetry = (...a: Parameters<RunStore["claimRetry"]>) => this.real.claimRetry(...a);
  releaseLease = (...a: Parameters<RunStore["releaseLease"]>) => this.real.releaseLease(...a);
  async heartbeat(...a: Parameters<RunStore["heartbeat"]>): Promise<HeartbeatResult> {
    this.heartbeats++;
    if (this.heartbeatMode === "fail") throw connectionError();
    return this.real.heartbeat(...a);
  }
  async finish(input: FinishInput): Promise<FinishResult> {
    this.finishCalls++;
    if (this.failFinishes > 0) {
      this.failFinishes--;
      throw connectionError();
    }
    const result = await this.real.finish(input);
    if (this.loseFinishReplies > 0) {
      this.loseFinishReplies--;
      throw connectionError();
    }
    return result;
  }
}

describeOnDatabases("run lifetime", (ctx) => {
  let store: FaultyRunStore;
  let deps: EngineDeps;
  let warnings: string[];
  let finished: RunReport[];
  let clockOffsetMs: number;
  beforeEach(() => {
    store = new FaultyRunStore(new PostgresRunStore(ctx.db));
    warnings = [];
    finished = [];
    clockOffsetMs = 0;
    deps = {
      runs: store,
      holder: "lifetime-host:1",
      codeVersion: "v1",
      settleGraceMs: 100,
      now: () => Date.now() + clockOffsetMs,
      warn: (m) => warnings.push(m),
      onRunFinished: async (report) => void finished.push(report),
    };
  });

  const row = async (id: string) =>
    (
      await queryRows<{ status: string; error_message: string | null; attempts: number; attempt_details: AttemptRecord[] | null; log_lines: Array<{ message: string }> | null; lease_expires_at: Date | string | null }>(
        ctx.db,
        sql`SELECT status, error_message, attempts, attempt_details, log_lines, lease_expires_at FROM cron_job_logs WHERE id = ${id}::uuid`,
      )
    )[0];
  const leaseOf = async (jobName: string) =>
    (await queryRows<{ run_id: string; alive: boolean; length_ms: number }>(
      ctx.db,
      sql`SELECT run_id, expires_at > now() AS alive, (extract(epoch FROM expires_at - acquired_at) * 1000)::int AS length_ms FROM cron_job_leases WHERE job_name = ${jobName}`,
    ))[0];
  const runOf = async (jobName: string) =>
    (await queryRows<{ id: string }>(ctx.db, sql`SELECT id FROM cron_job_logs WHERE job_name = ${jobName} AND status = 'started' ORDER BY started_at LIMIT 1`))[0]?.id;
  /** Another instance takes the job over: the lease is made to expire, and a new claim takes it. */
  const takeOver = async (j: JobDefinition) => {
    await ctx.db.execute(sql`UPDATE cron_job_leases SET expires_at = now() - interval '1 second' WHERE job_name = ${j.name}`);
    const claim = await new PostgresRunStore(ctx.db).claim({
      jobName: j.name, trigger: "manual", scheduledFor: null, dedupeKey: null, overlap: "skip", enabledByDefault: true, checkState: false,
      leaseMs: 60_000, holder: "other-host:2", codeVersion: "v9", actor: null,
    });
    if (claim.outcome !== "claimed") throw new Error(`the takeover was ${claim.outcome}`);
    return claim.runId;
  };

  it("answers a fenced-out run as lease_lost, names the run that took over, and notes the loss on its attempts", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const j = job({ timeout: "30s", handler: async () => { await gate; return { sent: 12 }; } });
    const pending = runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T10:00:00Z"), budgetMs: 60_000 });
    await pause(100);
    const mine = await runOf(j.name);
    const newer = await takeOver(j); // as if this holder had been frozen past its lease
    release(); // the handler completes; its result must not be written over the newer holder's
    const run = ran(await pending);
    expect(run).toMatchObject({ id: mine, status: "completed", recorded: false, notRecorded: "lease_lost", takenOverBy: newer });
    expect(finished.map((r) => r.id)).toEqual([mine]);
    const r = await row(mine);
    expect(r.status).toBe("abandoned"); // what the takeover found; the late finish changed nothing
    expect(r.attempt_details).toEqual([expect.objectContaining({ attempt: 1, codeVersion: "v1", leaseLost: true, takenOverBy: newer })]);
    expect((await leaseOf(j.name)).run_id).toBe(newer);
  });

  it("aborts the handler through its signal when heartbeats fail, before the lease can expire, and starts nothing more", async () => {
    let calls = 0;
    let abortedWhileLeaseAlive: boolean | null = null;
    let reason = "";
    const j = job({
      timeout: "20s",
      retries: 3,
      backoff: { strategy: "immediate" },
      handler: (c) =>
        new Promise((_, reject) => {
          calls++;
          const giveUp = setTimeout(() => reject(new Error("never told")), 8_000);
          c.signal.addEventListener("abort", () => {
            clearTimeout(giveUp);
            reason = String((c.signal.reason as Error)?.message);
            void leaseOf(j.name).then((l) => { abortedWhileLeaseAlive = l?.alive ?? false; reject(c.signal.reason); });
          });
        }),
    });
    deps.leaseMs = () => 2_000;
    store.heartbeatMode = "fail"; // the database is unreachable for heartbeats; the claim and the finish get through
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(reason).toMatch(/^lease lost: no heartbeat confirmed/);
    expect(abortedWhileLeaseAlive).toBe(true); // stopped while nobody else could have the job yet
    expect(calls).toBe(1);
    expect(store.heartbeats).toBeGreaterThanOrEqual(1);
    expect(run).toMatchObject({ status: "failed", recorded: true, notRecorded: null, attempts: 1 });
    expect(run.error).toMatch(/lease lost/);
    const r = await row(run.id);
    expect(r.attempt_details).toEqual([expect.objectContaining({ attempt: 1, leaseLost: true })]);
    expect(r.log_lines!.map((l) => l.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^heartbeat failed \(1 in a row\): Connection terminated/), expect.stringMatching(/^lease lost/)]));
    expect(warnings.some((w) => /heartbeat failed/.test(w))).toBe(true);
    expect(warnings.some((w) => /lease lost/.test(w))).toBe(true);
  });

  it("tries again within 2 s after a failed heartbeat, not a whole heartbeat interval later", async () => {
    const seen: number[] = [];
    const j = job({
      timeout: "20s",
      handler: async () => {
        clockOffsetMs += 20_001; // a heartbeat is due (every 20 s for a 60 s lease); it fails
        await pause(1_200);
        seen.push(store.heartbeats);
        clockOffsetMs += 2_100;
        await pause(1_200);
        seen.push(store.heartbeats);
      },
    });
    deps.leaseMs = () => 60_000;
    store.heartbeatMode = "fail";
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(seen[0]).toBe(1);
    expect(seen[1]).toBe(2);
    expect(run).toMatchObject({ status: "completed", recorded: true }); // 22 s without a confirmation is within the 50 s local deadline
  });

  it("checks the lease before each attempt: a holder frozen past its lease starts no retry", async () => {
    let calls = 0;
    let newer = "";
    const j = job({
      timeout: "20s",
      retries: 3,
      backoff: { strategy: "immediate" },
      handler: async () => {
        calls++;
        if (calls === 1) {
          // The process freezes (SIGSTOP) past its lease: no timer fires, the clock jumps, and
          // another instance takes the job meanwhile.
          newer = await takeOver(j);
          clockOffsetMs += 70_000;
        }
        throw new Error(`attempt ${calls} failed`);
      },
    });
    deps.leaseMs = () => 60_000;
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(calls).toBe(1);
    expect(run).toMatchObject({ attempts: 1, recorded: false, notRecorded: "lease_lost", takenOverBy: newer });
    const r = await row(run.id);
    expect(r.attempt_details).toEqual([expect.objectContaining({ attempt: 1, error: "attempt 1 failed", leaseLost: true, takenOverBy: newer })]);
  });

  it("checks the lease after a backoff sleep too, heartbeating when in doubt (and keeps going when it holds)", async () => {
    let calls = 0;
    const j = job({
      timeout: "20s",
      retries: 2,
      backoff: { strategy: "fixed", delay: "50ms" },
      handler: async () => {
        if (++calls < 3) {
          clockOffsetMs += 30_000; // a long stall of the clock: the next attempt must heartbeat first
          throw new Error(`attempt ${calls} failed`);
        }
        return calls;
      },
    });
    deps.leaseMs = () => 60_000;
    const before = store.heartbeats;
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(run).toMatchObject({ status: "completed", attempts: 3, recorded: true, output: 3 });
    expect(store.heartbeats - before).toBe(2); // one synchronous heartbeat before each retry
  });

  it("retries a finish that hits a database blip, keeping the lease, and records the result", async () => {
    const j = job({ timeout: "10s", handler: async () => ({ rows: 5 }) });
    store.failFinishes = 3;
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(run).toMatchObject({ status: "completed", recorded: true, notRecorded: null, output: { rows: 5 } });
    expect(store.finishCalls).toBe(4);
    expect((await row(run.id)).status).toBe("completed");
    expect(await leaseOf(j.name)).toBeUndefined();
    expect(warnings.filter((w) => /writing the result failed, retrying/.test(w))).toHaveLength(3);
  });

  it("takes a retried finish whose first try committed (reply lost) as recorded, not as a lease loss", async () => {
    const j = job({ timeout: "10s", handler: async () => { throw new Error("upstream refused"); } });
    store.loseFinishReplies = 1;
    const run = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T13:00:00Z"), budgetMs: 60_000 }));
    expect(store.finishCalls).toBe(2);
    expect(run).toMatchObject({ status: "failed", recorded: true, notRecorded: null, takenOverBy: null, consecutiveFailures: 1 });
    expect(run.deadLetterId).toBeTruthy(); // read back, so the dead-letter alert is not lost
    const r = await row(run.id);
    expect(r.status).toBe("failed");
    expect(r.attempt_details).toHaveLength(1);
    expect(r.attempt_details![0].leaseLost).toBeUndefined();
  });

  it("reports result_unrecorded when the finish keeps failing: the run is settled for the process and stays visible to the sweep", async () => {
    const j = job({ timeout: "10s", handler: async () => "done" });
    store.failFinishes = Infinity;
    deps.leaseMs = () => 600;
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 2_500 }));
    expect(run).toMatchObject({ status: "completed", recorded: false, notRecorded: "store_unavailable", output: "done" });
    expect(store.finishCalls).toBeGreaterThan(1);
    expect(finished.map((r) => r.id)).toEqual([run.id]); // onRunFinished: the process stops counting it as running
    const r = await row(run.id);
    expect(r.status).toBe("started"); // nothing was written...
    expect(r.lease_expires_at).not.toBeNull(); // ...and the lease was not freed, so the sweep closes the run
    const beats = store.heartbeats;
    await pause(700);
    expect(store.heartbeats).toBe(beats); // no heartbeat left running
    expect(warnings.some((w) => /the handler ran \(completed\) but its result could not be written/.test(w))).toBe(true);
  });

  it("stops the heartbeat once an abort-ignoring handler settles, even when its finish failed", async () => {
    let settle!: () => void;
    const settled = new Promise<void>((r) => (settle = r));
    const j = job({ timeout: "100ms", handler: () => settled }); // ignores its signal
    deps.leaseMs = () => 300;
    store.failFinishes = Infinity;
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 1_500 }));
    expect(run).toMatchObject({ status: "timed_out", notRecorded: "store_unavailable" });
    // The handler still runs: the lease is kept for it.
    const during = store.heartbeats;
    await pause(400);
    expect(store.heartbeats).toBeGreaterThan(during);
    expect((await leaseOf(j.name))?.alive).toBe(true);
    settle();
    await pause(150);
    const after = store.heartbeats;
    await pause(500);
    expect(store.heartbeats).toBe(after);
  });

  it("frees the lease once an abort-ignoring handler settles after its timed_out result was recorded", async () => {
    let settle!: () => void;
    const settled = new Promise<void>((r) => (settle = r));
    const j = job({ timeout: "100ms", handler: () => settled });
    deps.leaseMs = () => 300;
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 5_000 }));
    expect(run).toMatchObject({ status: "timed_out", recorded: true });
    await pause(400);
    expect((await leaseOf(j.name))?.alive).toBe(true);
    settle();
    await pause(150);
    expect(await leaseOf(j.name)).toBeUndefined();
    const after = store.heartbeats;
    await pause(400);
    expect(store.heartbeats).toBe(after);
  });

  it("tells a replaced handler within about a second (not a heartbeat interval), and ends it replaced, not failed", async () => {
    let abortedAfterMs = -1;
    let queuedAt = 0;
    const j = job({
      overlap: "replace",
      timeout: "60s", // default lease 75 s: heartbeats every 25 s, but replace jobs poll every second
      handler: async (c) => {
        if (c.trigger === "manual") return "newer";
        await new Promise<void>((resolve) => c.signal.addEventListener("abort", () => resolve()));
        abortedAfterMs = Date.now() - queuedAt;
        throw c.signal.reason;
      },
    });
    deps.queuePollMs = 50;
    const first = runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T11:00:00Z"), budgetMs: 120_000 });
    await pause(150);
    queuedAt = Date.now();
    const second = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 120_000 }));
    const replaced = ran(await first);
    console.log(`replace: the running handler heard of its replacement after ${abortedAfterMs}ms (lease ${j.leaseMs}ms)`);
    expect(abortedAfterMs).toBeGreaterThanOrEqual(0);
    expect(abortedAfterMs).toBeLessThan(2_000);
    expect(second).toMatchObject({ status: "completed", output: "newer" });
    expect(replaced).toMatchObject({ status: "replaced", recorded: true, deadLetterId: null });
    const r = await row(replaced.id);
    expect(r.status).toBe("replaced");
    expect(r.attempt_details).toEqual([expect.objectContaining({ attempt: 1, replaced: true })]);
  });

  it("never runs a retry with a shortened timeout: it becomes a durable retry, and a resumed retry short of budget waits again", async () => {
    const timeoutsSeen: number[] = [];
    let calls = 0;
    const j = job({
      timeout: "5s",
      retries: 2,
      backoff: { strategy: "fixed", delay: "100ms" },
      handler: async () => {
        calls++;
        await pause(1_000);
        throw new Error(`attempt ${calls} failed`);
      },
    });
    // 6.5 s: a whole first attempt fits; after it fails at 1 s, 4.5 s are left, short of the 5 s timeout.
    const first = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-11-24T12:00:00Z"), budgetMs: 6_500 }));
    expect(calls).toBe(1);
    expect(first).toMatchObject({ status: "retry_scheduled", attempts: 1, retryDeferred: true });
    timeoutsSeen.push(...first.attemptDetails.map((a) => a.timeoutMs!));
    expect(timeoutsSeen).toEqual([5_000]);

    // The tick resumes it in an invocation with 3 s: not enough for a whole attempt.
    deps.codeVersion = "v2";
    const short = ran(await runTrigger(deps, { job: j, trigger: "retry", scheduledFor: null, retryOf: first.id, budgetMs: 3_000 }));
    expect(calls).toBe(1);
    expect(short).toMatchObject({ id: first.id, status: "retry_scheduled", attempts: 1 });
    expect(short.nextRetryAt!.getTime()).toBeLessThanOrEqual(Date.now());

    // A full invocation on a newer deployment runs it with its whole timeout, and records that version.
    const resumed = ran(await runTrigger(deps, { job: j, trigger: "retry", scheduledFor: null, retryOf: first.id, budgetMs: 60_000 }));
    expect(calls).toBe(3);
    expect(resumed).toMatchObject({ status: "failed", attempts: 3 });
    const r = await row(first.id);
    expect(r.attempt_details!.map((a) => [a.attempt, a.timeoutMs, a.codeVersion])).toEqual([
      [1, 5_000, "v1"],
      [2, 5_000, "v2"],
      [3, 5_000, "v2"],
    ]);
  });

  it("takes the lease length from the job, and records event-loop stalls on the attempt with a warning", async () => {
    const j = job({
      timeout: "10s",
      lease: "6s",
      handler: async () => {
        await pause(50);
        const until = Date.now() + 2_500;
        while (Date.now() < until) {
          // a handler that does not yield: no heartbeat can go out meanwhile
        }
        return "blocked";
      },
    });
    const pending = runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 });
    await pause(20);
    const lease = await leaseOf(j.name);
    const run = ran(await pending);
    expect(lease.length_ms).toBeGreaterThanOrEqual(5_900);
    expect(lease.length_ms).toBeLessThanOrEqual(6_100);
    const stalls = run.attemptDetails[0].stalls ?? [];
    console.log(`stalls: ${JSON.stringify(stalls)}`);
    expect(stalls.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...stalls.map((s) => s.ms))).toBeGreaterThanOrEqual(1_400);
    expect(run).toMatchObject({ status: "completed", recorded: true });
    const r = await row(run.id);
    expect(r.attempt_details![0].stalls).toEqual(stalls);
    expect(r.log_lines!.some((l) => /event loop was blocked for \d+ms \(lease 6000ms\): handlers must yield/.test(l.message))).toBe(true);
    expect(warnings.some((w) => /event loop was blocked/.test(w))).toBe(true);
  });
});
