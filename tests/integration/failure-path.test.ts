import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AlertDispatcher } from "@/lib/alerts/dispatcher";
import { alertsForRun } from "@/lib/alerts/policy";
import { WebhookChannel, type WebhookPayload } from "@/lib/alerts/webhook";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import type { RunTrigger } from "@/lib/cron/vocabulary";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps } from "@/lib/cron/run-job";
import type { FinishInput } from "@/lib/cron/run-store";
import { queryRows } from "@/lib/db/client";
import { listDeadLetters } from "@/lib/db/queries/dead-letters";
import { PostgresRunStore } from "@/lib/db/run-store";
import { sweepExpiredLeases } from "@/lib/db/sweep";
import { parseEnv } from "@/lib/env";
import { createObservers, type Observers } from "@/lib/app/observers";
import { interruptHolder } from "@/lib/app/shutdown";
import { runTick } from "@/lib/app/tick";
import { describeOnDatabases } from "../support/db";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";

/**
 * The failure path: a run that ends without a recorded result (its holder crashed, was killed,
 * froze or lost the database, and the lease expired; or a shutdown interrupted it) counts exactly
 * like a failed run, whichever statement found it: consecutive failures, a dead letter with its
 * slot, the auto-pause, and alerts per the job's policy, each delivered once. A crash is simulated
 * by moving the lease's expiry into the past (the database clock decides expiry; no sleeping).
 */

let counter = 0;
const uniqueName = () => `fp-${process.pid}-${++counter}`;
const HOLDER = "test-host:4242";

describeOnDatabases("failure path", (ctx) => {
  let hook: RecordingServer;
  let runs: PostgresRunStore;
  const jobs: JobDefinition[] = [];
  let observers: Observers;
  let clock = new Date("2026-06-01T08:00:00.000Z");

  beforeAll(async () => {
    hook = await startRecordingServer();
    runs = new PostgresRunStore(ctx.db);
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: [new WebhookChannel({ url: hook.url, secret: null })], now: () => clock });
    observers = createObservers(parseEnv({}), ctx.db, [], { registry: () => new JobRegistry(jobs), dispatcher });
  });
  afterAll(async () => {
    await hook?.close();
  });

  const job = (overrides: Partial<JobConfig> = {}) => {
    const j = defineJob({ name: uniqueName(), schedule: "*/5 * * * *", handler: async () => "ok", ...overrides });
    jobs.push(j);
    return j;
  };
  const alertsOf = (name: string) => hook.requests.map((r) => r.json as WebhookPayload).filter((p) => p.jobName === name);
  /** The kinds sent for a job, sorted: one run's alerts go out in parallel. */
  const kindsOf = (name: string) => alertsOf(name).map((a) => a.kind).sort();
  const config = async (name: string) =>
    (await queryRows<{ consecutive_failures: number; consecutive_dead_letters: number; dead_lettered: boolean; incident_id: string | null; pause_after: number | null }>(
      ctx.db,
      sql`SELECT * FROM cron_job_config WHERE job_name = ${name}`,
    ))[0];
  const runRow = async (id: string) =>
    (await queryRows<{ status: string; error_message: string | null; failure_streak: number | null; alerts_pending: boolean; auto_paused: boolean; replaced_by: string | null; incident_id: string | null; completed_at: Date | null }>(
      ctx.db,
      sql`SELECT * FROM cron_job_logs WHERE id = ${id}::uuid`,
    ))[0];

  /** Claims a run of `j` for `slot` (or a manual run) as the engine does. */
  async function claim(j: JobDefinition, slot: string | null, trigger: RunTrigger = slot ? "schedule" : "manual") {
    const c = await runs.claim({
      jobName: j.name,
      trigger,
      scheduledFor: slot ? new Date(slot) : null,
      dedupeKey: slot ? `slot:${new Date(slot).toISOString()}` : null,
      overlap: j.overlap,
      enabledByDefault: true,
      checkState: trigger !== "manual" && trigger !== "replay",
      leaseMs: 30_000,
      holder: HOLDER,
      codeVersion: null,
      actor: null,
      runId: randomUUID(),
    });
    return c;
  }
  async function claimed(j: JobDefinition, slot: string | null, trigger?: RunTrigger) {
    const c = await claim(j, slot, trigger);
    if (c.outcome !== "claimed") throw new Error(`expected a claim, got ${c.outcome}`);
    return c;
  }
  /** The holder died: its lease (and the run's own lease expiry) lies in the past. */
  const crash = async (runId: string, agoSeconds = 5) => {
    await ctx.db.execute(sql`UPDATE cron_job_leases SET expires_at = now() - make_interval(secs => ${agoSeconds}) WHERE run_id = ${runId}::uuid`);
    await ctx.db.execute(sql`UPDATE cron_job_logs SET lease_expires_at = now() - make_interval(secs => ${agoSeconds}) WHERE id = ${runId}::uuid`);
  };
  const finish = (j: JobDefinition, c: { runId: string; fencingToken: number }, status: FinishInput["status"], extra: Partial<FinishInput> = {}) =>
    runs.finish({
      runId: c.runId,
      fencingToken: c.fencingToken,
      status,
      attempts: 1,
      errorMessage: status === "completed" ? null : `${status} on purpose`,
      errorStack: null,
      output: null,
      logLines: [],
      attemptDetails: [],
      releaseLease: true,
      deadLetter: status === "failed" || status === "timed_out",
      pauseAfter: j.deadLetter.pauseAfter,
      ...extra,
    });

  it("counts a run the sweep found abandoned as a failure: streak, dead letter with its slot, alerts once, a truthful message", async () => {
    const j = job({ alerts: { afterConsecutiveFailures: 1 } });
    const slot = "2026-06-01T08:05:00.000Z";
    const c = await claimed(j, slot);
    await crash(c.runId, 7);

    const swept = await sweepExpiredLeases(ctx.db);
    const mine = swept.find((a) => a.runId === c.runId);
    expect(mine).toMatchObject({ jobName: j.name, holder: HOLDER, consecutiveFailures: 1, autoPaused: false });

    const row = await runRow(c.runId);
    expect(row).toMatchObject({ status: "abandoned", failure_streak: 1, alerts_pending: true, incident_id: c.runId });
    // What is known, and no guess: the holder, how long it held the lease, when it expired.
    expect(row.error_message).toMatch(new RegExp(`^abandoned: the lease expired with no result recorded\\. Holder ${HOLDER} held it for \\d+s \\(from \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z until it expired at \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z, [78]s ago\\)`));
    expect(row.error_message).not.toMatch(/stopped heartbeating|crashed\)/);

    expect(await config(j.name)).toMatchObject({ consecutive_failures: 1, consecutive_dead_letters: 1, dead_lettered: false });
    const { entries } = await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ runId: c.runId, scheduledFor: slot, recoveryStatus: "pending", attempts: 1 });
    expect(entries[0].failureReason).toBe(row.error_message);

    await observers.onAbandoned();
    expect(alertsOf(j.name).map((a) => [a.kind, a.runId, a.consecutiveFailures]).sort()).toEqual([
      ["dead_letter", c.runId, 1],
      ["failure", c.runId, 1],
    ]);
    expect(alertsOf(j.name)[0].detail).toMatchObject({ status: "abandoned" });
    // Exactly once: a second tick (or a second sweep) sends nothing more.
    expect(await sweepExpiredLeases(ctx.db)).not.toContainEqual(expect.objectContaining({ runId: c.runId }));
    await observers.onAbandoned();
    expect(alertsOf(j.name)).toHaveLength(2);
    expect((await runRow(c.runId)).alerts_pending).toBe(false);
  });

  it("counts a run abandoned inside a claim (the next claim found the expired lease), and the tick sends its alerts", async () => {
    const j = job({ alerts: { afterConsecutiveFailures: 1 } });
    const first = await claimed(j, "2026-06-01T08:10:00.000Z");
    await crash(first.runId);
    const second = await claimed(j, "2026-06-01T08:15:00.000Z");
    const row = await runRow(first.runId);
    expect(row).toMatchObject({ status: "abandoned", failure_streak: 1, alerts_pending: true });
    expect(row.error_message).toContain(`Holder ${HOLDER} held it for`);
    expect(await config(j.name)).toMatchObject({ consecutive_failures: 1, consecutive_dead_letters: 1 });
    expect(alertsOf(j.name)).toHaveLength(0);

    await observers.onAbandoned();
    expect(kindsOf(j.name)).toEqual(["dead_letter", "failure"]);
    // The new run recovers: the streak resets, the incident closes.
    await finish(j, second, "completed");
    expect(await config(j.name)).toMatchObject({ consecutive_failures: 0, consecutive_dead_letters: 0, incident_id: null });
  });

  it("has the tick send the alerts of a run abandoned inside a claim, also when its own sweep finds nothing", async () => {
    const j = job({ alerts: { afterConsecutiveFailures: 1 } });
    const first = await claimed(j, "2026-06-01T11:00:00.000Z");
    await crash(first.runId);
    await claimed(j, "2026-06-01T11:05:00.000Z");
    expect((await runRow(first.runId)).alerts_pending).toBe(true);
    const report = await runTick({
      db: ctx.db, registry: new JobRegistry([]), dispatch: async (request) => ({ request, status: 200 }), plan: "pro",
      holder: HOLDER, now: new Date(), onAbandoned: observers.onAbandoned,
    });
    expect(report.abandoned.map((a) => a.runId)).not.toContain(first.runId);
    expect(kindsOf(j.name)).toEqual(["dead_letter", "failure"]);
    expect((await runRow(first.runId)).alerts_pending).toBe(false);
  });

  it("keeps the threshold: one abandoned run below afterConsecutiveFailures makes its dead letter but no alert", async () => {
    const j = job(); // defaults: afterConsecutiveFailures 3, retries 0
    const c = await claimed(j, "2026-06-01T08:20:00.000Z");
    await crash(c.runId);
    await sweepExpiredLeases(ctx.db);
    expect((await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 })).total).toBe(1);
    await observers.onAbandoned();
    expect(alertsOf(j.name)).toEqual([]);
  });

  it("pauses after pauseAfter dead letters in a row, failed and abandoned runs alike, with the stored pauseAfter", async () => {
    const j = job({ deadLetter: { pauseAfter: 2 }, alerts: { afterConsecutiveFailures: 5 } });
    // A failed run: its finish passes the job's pauseAfter, which the database keeps for runs found abandoned.
    const failed = await claimed(j, "2026-06-01T08:25:00.000Z");
    expect(await finish(j, failed, "failed")).toMatchObject({ finished: true, consecutiveFailures: 1, autoPaused: false });
    expect((await config(j.name)).pause_after).toBe(2);
    const lost = await claimed(j, "2026-06-01T08:30:00.000Z");
    await crash(lost.runId);
    await sweepExpiredLeases(ctx.db);
    expect(await config(j.name)).toMatchObject({ consecutive_failures: 2, consecutive_dead_letters: 2, dead_lettered: true });
    expect((await runRow(lost.runId)).auto_paused).toBe(true);
    // The schedule stops: the next scheduled trigger is skipped.
    expect(await claim(j, "2026-06-01T08:35:00.000Z")).toMatchObject({ outcome: "skipped", reason: "dead_lettered" });
    // Below the failure threshold, yet the auto-pause is always said.
    await observers.onAbandoned();
    expect(kindsOf(j.name)).toEqual(["auto_paused"]);
  });

  it("uses the default pauseAfter (3) for a job whose runs were only ever abandoned", async () => {
    const j = job({ alerts: { afterConsecutiveFailures: 1 } });
    for (const [i, slot] of ["08:40", "08:45", "08:50"].entries()) {
      const c = await claimed(j, `2026-06-01T${slot}:00.000Z`);
      await crash(c.runId);
      await sweepExpiredLeases(ctx.db);
      expect((await config(j.name)).dead_lettered).toBe(i === 2);
    }
    await observers.onAbandoned();
    expect(alertsOf(j.name).filter((a) => a.kind === "auto_paused")).toHaveLength(1);
  });

  it("never dead-letters or pauses a job whose finishes pass pauseAfter 0 (the tick), its abandoned runs included", async () => {
    const j = job({ alerts: { afterConsecutiveFailures: 1 } });
    for (const slot of ["10:00", "10:05", "10:10"]) {
      const c = await claimed(j, `2026-06-01T${slot}:00.000Z`);
      expect(await finish(j, c, "failed", { deadLetter: false, pauseAfter: 0 })).toMatchObject({ finished: true, deadLetterId: null, autoPaused: false });
    }
    for (const slot of ["10:15", "10:20", "10:25"]) {
      const c = await claimed(j, `2026-06-01T${slot}:00.000Z`);
      await crash(c.runId);
      await sweepExpiredLeases(ctx.db);
    }
    expect(await config(j.name)).toMatchObject({ consecutive_failures: 6, consecutive_dead_letters: 0, dead_lettered: false, pause_after: 0 });
    expect((await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 })).total).toBe(0);
    // It still alerts: a failing tick is said, not hidden.
    await observers.onAbandoned();
    expect(kindsOf(j.name)).toEqual(["failure"]);
  });

  it("counts a run a graceful shutdown interrupted, with the shutdown's own message", async () => {
    const j = job({ alerts: { afterConsecutiveFailures: 1 } });
    const holder = `shutdown-host:${process.pid}-${counter}`;
    const c = await runs.claim({
      jobName: j.name, trigger: "schedule", scheduledFor: new Date("2026-06-01T09:00:00Z"), dedupeKey: "slot:2026-06-01T09:00:00.000Z",
      overlap: "skip", enabledByDefault: true, checkState: true, leaseMs: 30_000, holder, codeVersion: null, actor: null, runId: randomUUID(),
    });
    expect(c.outcome).toBe("claimed");
    await interruptHolder(ctx.database, holder, 30);
    const row = await runRow(c.runId);
    expect(row).toMatchObject({ status: "abandoned", failure_streak: 1, alerts_pending: true });
    expect(row.error_message).toMatch(/^interrupted/);
    expect((await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 })).entries[0]).toMatchObject({ runId: c.runId, scheduledFor: "2026-06-01T09:00:00.000Z" });
    await observers.onAbandoned();
    expect(kindsOf(j.name)).toEqual(["dead_letter", "failure"]);
  });

  it("does not count manual runs or replays toward the auto-pause: three Run now failures do not pause the schedule", async () => {
    const j = job({ deadLetter: { pauseAfter: 2 } });
    for (let i = 0; i < 3; i++) {
      const c = await claimed(j, null, "manual");
      expect(await finish(j, c, "failed")).toMatchObject({ finished: true, consecutiveFailures: i + 1, autoPaused: false });
    }
    // A manual run abandoned by its holder does not count either.
    const lost = await claimed(j, null, "manual");
    await crash(lost.runId);
    await sweepExpiredLeases(ctx.db);
    expect(await config(j.name)).toMatchObject({ consecutive_failures: 4, consecutive_dead_letters: 0, dead_lettered: false });
    expect(await claim(j, "2026-06-01T09:05:00.000Z")).toMatchObject({ outcome: "claimed" });
  });

  it("through the engine: three Run now failures do not pause the schedule, and their alerts still follow the threshold", async () => {
    const j = job({ deadLetter: { pauseAfter: 2 }, alerts: { afterConsecutiveFailures: 3 }, handler: async () => { throw new Error("broken by hand"); } });
    const deps: EngineDeps = { runs, holder: HOLDER, codeVersion: null, settleGraceMs: 50, onRunFinished: observers.onRunFinished };
    for (let i = 1; i <= 3; i++) {
      const outcome = await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, actor: "admin", budgetMs: 60_000 });
      expect(outcome).toMatchObject({ kind: "ran", run: { status: "failed", consecutiveFailures: i, autoPaused: false } });
      expect(kindsOf(j.name)).toEqual(i < 3 ? [] : ["dead_letter", "failure"]);
    }
    expect(await config(j.name)).toMatchObject({ consecutive_failures: 3, consecutive_dead_letters: 0, dead_lettered: false });
    const scheduled = await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-06-01T12:00:00Z"), budgetMs: 60_000 });
    expect(scheduled).toMatchObject({ kind: "ran", run: { status: "failed", autoPaused: false } });
  });

  it("replays an abandoned run's dead letter with its original slot, and the replay settles the entry", async () => {
    const j = job();
    const slot = "2026-06-01T09:10:00.000Z";
    const c = await claimed(j, slot);
    await crash(c.runId);
    await sweepExpiredLeases(ctx.db);
    const [entry] = (await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 })).entries;
    expect(entry.scheduledFor).toBe(slot);
    const replay = await runs.claim({
      jobName: j.name, trigger: "replay", scheduledFor: new Date(entry.scheduledFor!), dedupeKey: null, overlap: j.overlap, enabledByDefault: true,
      checkState: false, leaseMs: 30_000, holder: HOLDER, codeVersion: null, actor: "admin", replayOf: entry.runId, runId: randomUUID(),
    });
    if (replay.outcome !== "claimed") throw new Error("replay not claimed");
    expect(await finish(j, replay, "completed")).toMatchObject({ finished: true, consecutiveFailures: 0 });
    const after = (await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 })).entries[0];
    expect(after).toMatchObject({ recoveryStatus: "replayed", lastReplayRunId: replay.runId });
    const [{ scheduled_for }] = await queryRows<{ scheduled_for: Date }>(ctx.db, sql`SELECT scheduled_for FROM cron_job_logs WHERE id = ${replay.runId}::uuid`);
    expect(new Date(scheduled_for).toISOString()).toBe(slot);
  });

  it("records a replaced run (overlap replace) as terminal, naming its replacement, without failure, dead letter or alert", async () => {
    const j = job({ overlap: "replace", alerts: { afterConsecutiveFailures: 1 } });
    // An earlier failure: the streak must stay exactly where it was.
    const failed = await claimed(j, "2026-06-01T09:15:00.000Z");
    await finish(j, failed, "failed");
    const before = await config(j.name);
    const running = await claimed(j, "2026-06-01T09:20:00.000Z");
    const newer = await claim(j, "2026-06-01T09:25:00.000Z");
    expect(newer.outcome).toBe("queued");
    const result = await finish(j, running, "replaced", { errorMessage: "replaced by a newer run (overlap: replace)", deadLetter: false });
    expect(result).toMatchObject({ finished: true, consecutiveFailures: null, deadLetterId: null, autoPaused: false });
    const row = await runRow(running.runId);
    expect(row).toMatchObject({ status: "replaced", replaced_by: newer.runId, failure_streak: null, alerts_pending: false });
    expect(row.completed_at).not.toBeNull();
    expect(await config(j.name)).toMatchObject({ consecutive_failures: before.consecutive_failures, consecutive_dead_letters: before.consecutive_dead_letters });
    expect((await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 })).entries.map((e) => e.runId)).toEqual([failed.runId]);
    expect(alertsForRun({ status: "replaced", consecutiveFailures: 5, previousFailures: 5, deadLetterId: null, autoPaused: false, recorded: true }, j)).toEqual([]);
    // Not a failure on the dashboard either.
    const [stats] = await queryRows<{ failures: number; successes: number }>(
      ctx.db,
      sql`SELECT coalesce(sum(failures), 0)::int AS failures, coalesce(sum(successes), 0)::int AS successes FROM cron_job_stats_hourly WHERE job_name = ${j.name}`,
    );
    expect(stats).toEqual({ failures: 1, successes: 0 });
    const [fv] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM failed_cron_jobs WHERE job_name = ${j.name}`);
    expect(fv.n).toBe(1);
  });

  it("through the engine: a run replaced by a newer trigger ends replaced, naming it, with no failure, dead letter or alert", async () => {
    const j = job({
      overlap: "replace",
      alerts: { afterConsecutiveFailures: 1 },
      handler: (ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve("stopped"), { once: true })),
    });
    const deps: EngineDeps = { runs, holder: HOLDER, codeVersion: null, settleGraceMs: 200, queuePollMs: 50, onRunFinished: observers.onRunFinished };
    const first = runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: new Date("2026-06-01T13:00:00Z"), budgetMs: 60_000 });
    // The second trigger only once the first holds the lease.
    for (let i = 0; i < 200 && !(await queryRows(ctx.db, sql`SELECT 1 FROM cron_job_leases WHERE job_name = ${j.name}`)).length; i++) await new Promise((r) => setTimeout(r, 10));
    const jobB = { ...j, handler: async () => "took over" };
    const second = await runTrigger(deps, { job: jobB, trigger: "schedule", scheduledFor: new Date("2026-06-01T13:05:00Z"), budgetMs: 60_000 });
    const replaced = await first;
    if (replaced.kind !== "ran" || second.kind !== "ran") throw new Error("both should have run");
    expect(replaced.run.status).toBe("replaced");
    expect(second.run.status).toBe("completed");
    expect(await runRow(replaced.run.id)).toMatchObject({ status: "replaced", replaced_by: second.run.id, failure_streak: null });
    expect(await config(j.name)).toMatchObject({ consecutive_failures: 0, consecutive_dead_letters: 0 });
    expect((await listDeadLetters(ctx.db, { jobName: j.name, limit: 10, offset: 0 })).total).toBe(0);
    expect(kindsOf(j.name)).toEqual([]);
  });

  it("keeps the failure state exact over a random mix of completed, failed, timed-out, abandoned (sweep, claim, shutdown), manual and replaced runs", async () => {
    const iterations = 120;
    let violations = 0;
    const j = job({ overlap: "skip", deadLetter: { pauseAfter: 3 }, alerts: { afterConsecutiveFailures: 2 } });
    let seed = 20260601;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const model = { failures: 0, deadLetters: 0, paused: false, dlq: 0 };
    let minute = 0;
    const nextSlot = () => new Date(Date.UTC(2026, 6, 1) + 5 * 60_000 * ++minute).toISOString();
    for (let i = 0; i < iterations; i++) {
      if (model.paused) {
        await ctx.db.execute(sql`UPDATE cron_job_config SET dead_lettered = false, consecutive_dead_letters = 0 WHERE job_name = ${j.name}`);
        model.paused = false;
        model.deadLetters = 0;
      }
      const manual = random() < 0.2;
      const c = await claim(j, manual ? null : nextSlot(), manual ? "manual" : "schedule");
      if (c.outcome !== "claimed") {
        violations++;
        continue;
      }
      const pick = random();
      const fail = (counts: boolean) => {
        model.failures++;
        model.dlq++;
        if (counts) {
          model.deadLetters++;
          if (model.deadLetters >= 3) model.paused = true;
        }
      };
      if (pick < 0.3) {
        await finish(j, c, "completed");
        model.failures = 0;
        model.deadLetters = 0;
      } else if (pick < 0.5) {
        await finish(j, c, random() < 0.5 ? "failed" : "timed_out");
        fail(!manual);
      } else if (pick < 0.6) {
        await finish(j, c, "replaced", { deadLetter: false });
      } else if (pick < 0.75) {
        await crash(c.runId);
        await sweepExpiredLeases(ctx.db);
        fail(!manual);
      } else if (pick < 0.88) {
        // The next claim finds the expired lease and abandons the run; that newer run is then
        // replaced (which changes nothing), so only the abandoned run moves the state.
        await crash(c.runId);
        const next = await claim(j, nextSlot());
        fail(!manual);
        if (next.outcome !== "claimed") violations++;
        else await finish(j, next, "replaced", { deadLetter: false });
      } else {
        await ctx.db.execute(sql`UPDATE cron_job_logs SET holder = ${`gone:${i}`} WHERE id = ${c.runId}::uuid`);
        await ctx.db.execute(sql`UPDATE cron_job_leases SET holder = ${`gone:${i}`} WHERE run_id = ${c.runId}::uuid`);
        await interruptHolder(ctx.database, `gone:${i}`, 30);
        fail(!manual);
      }
      const state = await config(j.name);
      const [{ dlq }] = await queryRows<{ dlq: number }>(ctx.db, sql`SELECT count(*)::int AS dlq FROM cron_dead_letters WHERE job_name = ${j.name}`);
      if (state.consecutive_failures !== model.failures || state.consecutive_dead_letters !== model.deadLetters || state.dead_lettered !== model.paused || dlq !== model.dlq) {
        violations++;
        console.log("mismatch at", i, state, { dlq }, model);
      }
    }
    const [{ pending }] = await queryRows<{ pending: number }>(ctx.db, sql`SELECT count(*)::int AS pending FROM cron_job_logs WHERE job_name = ${j.name} AND alerts_pending`);
    await observers.onAbandoned();
    const [{ left }] = await queryRows<{ left: number }>(ctx.db, sql`SELECT count(*)::int AS left FROM cron_job_logs WHERE job_name = ${j.name} AND alerts_pending`);
    console.log(`failure path [${ctx.kind}]: ${iterations} iterations, ${model.dlq} dead letters, ${pending} abandoned runs alerted, ${violations} violations`);
    expect(left).toBe(0);
    expect(violations).toBe(0);
  });
});
