import { sql } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { AlertDispatcher } from "@/lib/alerts";
import { alertChannelsFromEnv } from "@/lib/alerts/channels";
import { runTick, tickJob } from "@/lib/app/tick";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import type { Dispatcher } from "@/lib/cron/tick";
import { queryRows } from "@/lib/db/client";
import { openMonitors, SYSTEM_MONITOR } from "@/lib/db/monitors";
import { PostgresMonitorStore } from "@/lib/db/queries/monitors";
import { parseEnv, type Env } from "@/lib/env";
import { evaluateMonitors } from "@/lib/monitors/evaluate";
import { monitorSettingsFromEnv } from "@/lib/monitors/policy";
import { describeOnDatabases } from "../support/db";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { decodeMail, startSmtpRecorder, type SmtpRecorder } from "../support/smtp-recorder";

/**
 * The tick's monitors end to end: real Postgres (and PGlite), the real dispatcher and channels
 * delivering to local recorders (Slack, SMTP, webhook), a fake clock passed as each tick's `now`.
 */

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;
const at = (iso: string) => new Date(iso);
const noDispatch: Dispatcher = async (request) => ({ request, status: 200 });

describeOnDatabases("tick monitors", (ctx) => {
  let slack: RecordingServer;
  let webhook: RecordingServer;
  let smtp: SmtpRecorder;
  let env: Env;
  let clock: Date;
  let dispatcher: AlertDispatcher;

  beforeEach(async () => {
    [slack, webhook, smtp] = await Promise.all([startRecordingServer(), startRecordingServer(), startSmtpRecorder()]);
    env = parseEnv({
      CRON_SECRET: "s".repeat(32),
      SLACK_WEBHOOK_URL: `${slack.url}/slack`,
      SMTP_URL: smtp.url("alerts@example.com", "pw"),
      ALERT_EMAIL_TO: "ops@example.com",
      ALERT_WEBHOOK_URL: `${webhook.url}/hook`,
    });
    clock = at("2026-06-01T12:00:00Z");
    dispatcher = new AlertDispatcher({ db: ctx.db, channels: alertChannelsFromEnv(env), now: () => clock });
  });
  afterEach(async () => {
    await Promise.all([slack.close(), webhook.close(), smtp.close()]);
  });

  const tick = (registry: JobRegistry, iso: string, extra: { onMissed?: (job: JobDefinition, slots: Date[]) => Promise<void> } = {}) => {
    clock = at(iso);
    return runTick({ db: ctx.db, registry, dispatch: noDispatch, plan: "pro", holder: "monitor-test", now: clock, monitors: { env, notify: (e, r) => dispatcher.notify(e, r) }, ...extra });
  };

  /** How each kind's headline reads after the job's name (lib/alerts/format.ts). */
  const PHRASE: Record<string, string> = {
    late: "is late",
    long_running: "is still running past",
    failure_rate: "fails more often",
    timeout_rate: "times out more often",
    lock_contention: "meets a held lease",
    dead_letter_backlog: "has a dead-letter backlog",
    stale_lease: "holds a lease that expired",
    recovered: "recovered",
  };
  /** The webhook deliveries of this job and kind. */
  const hooks = (jobName: string, kind: string) => webhook.requests.map((r) => r.json as { kind: string; jobName: string; scheduledFor: string | null; detail: Record<string, unknown> }).filter((j) => j.kind === kind && j.jobName === jobName);
  /**
   * What each local recorder received for this job and kind, checked against the delivered rows
   * of cron_alerts (the dispatcher's record): { email, slack, webhook } counts.
   */
  const sent = async (jobName: string, kind: string) => {
    // The backlog is the whole queue's: its headline names no job.
    const headline = kind === "dead_letter_backlog" ? "Dead-letter queue over its backlog threshold" : `${jobName} ${PHRASE[kind]}`;
    const received: Record<string, number> = {
      email: smtp.mails.filter((m) => decodeMail(m.raw).includes(headline)).length,
      slack: slack.requests.filter((r) => (r.json as { text: string }).text.includes(headline)).length,
      webhook: hooks(jobName, kind).length,
    };
    const rows = await queryRows<{ channel: string; n: number }>(
      ctx.db,
      sql`SELECT channel, count(*)::int AS n FROM cron_alerts WHERE job_name = ${jobName} AND kind = ${kind} AND status = 'sent' GROUP BY channel ORDER BY channel`,
    );
    const recorded = Object.fromEntries(rows.map((r) => [r.channel, r.n]));
    expect(Object.fromEntries(Object.entries(received).filter(([, n]) => n > 0))).toEqual(recorded);
    return recorded;
  };
  const onceEach = { email: 1, slack: 1, webhook: 1 };

  const insertRuns = async (jobName: string, rows: Array<{ status: string; startedAt: string; skipReason?: string; slot?: string }>) => {
    for (const r of rows) {
      await ctx.db.execute(
        sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, skip_reason, scheduled_for, trigger, dedupe_key, lease_expires_at)
            VALUES (${jobName}, ${r.status}, ${r.startedAt}::timestamptz, ${r.status === "started" ? null : r.startedAt}::timestamptz, ${r.status === "started" ? null : 10},
                    ${r.skipReason ?? null}, ${r.slot ?? null}::timestamptz, 'schedule', ${r.slot && r.status !== "skipped" ? `slot:${r.slot}` : null},
                    ${r.status === "started" ? sql`now() + interval '1 hour'` : null})`,
      );
    }
  };
  const runsAt = (startIso: string, n: number, status: string, skipReason?: string) =>
    Array.from({ length: n }, (_, i) => ({ status, skipReason, startedAt: new Date(at(startIso).getTime() + i * 1_000).toISOString() }));

  // ---- late --------------------------------------------------------------------------------

  it("a slot with no run started within the margin alerts late once on each channel, held while late within the window, recovered once", async () => {
    const job = defineJob({ name: uniqueName("late"), schedule: "*/10 * * * *", handler: () => {} });
    const registry = new JobRegistry([job]);
    const missedCalls: string[] = [];
    const onMissed = async (j: JobDefinition) => void missedCalls.push(j.name);
    await tick(registry, "2026-06-01T12:00:30Z", { onMissed }); // first sight: the bookmark
    await insertRuns(job.name, [{ status: "completed", startedAt: "2026-06-01T12:00:01Z", slot: "2026-06-01T12:00:00.000Z" }]);
    const late = await tick(registry, "2026-06-01T12:11:30Z", { onMissed });
    expect(late.monitors?.late).toEqual([{ jobName: job.name, slots: ["2026-06-01T12:10:00.000Z"] }]);
    expect(await sent(job.name, "late")).toEqual(onceEach);
    expect(hooks(job.name, "late")[0].scheduledFor).toBe("2026-06-01T12:10:00.000Z");
    // The slot is recorded missed (the catch-up policy applies), but alerted once, as late.
    expect(late.missed.map((m) => m.jobName)).toEqual([job.name]);
    expect(missedCalls).toEqual([]);

    // Still late ten minutes later: within the hour's re-alert window, held.
    await tick(registry, "2026-06-01T12:21:30Z", { onMissed });
    expect(await sent(job.name, "late")).toEqual(onceEach);
    expect((await openMonitors(ctx.db, job.name)).map((m) => m.kind)).toEqual(["late"]);

    // On time again: one recovered alert, and only one.
    await insertRuns(job.name, [{ status: "completed", startedAt: "2026-06-01T12:30:02Z", slot: "2026-06-01T12:30:00.000Z" }]);
    await tick(registry, "2026-06-01T12:31:30Z", { onMissed });
    await tick(registry, "2026-06-01T12:41:30Z", { onMissed }); // 12:40 late again: a new incident
    expect(hooks(job.name, "recovered").map((h) => h.detail.monitor)).toEqual(["late"]);
    expect(await sent(job.name, "recovered")).toEqual(onceEach);
    expect(await sent(job.name, "late")).toEqual({ email: 2, slack: 2, webhook: 2 });
  });

  it("late alerts again once the job's re-alert window has passed while it stays late", async () => {
    const job = defineJob({ name: uniqueName("late-realert"), schedule: "*/10 * * * *", alerts: { reAlertAfter: "15m" }, handler: () => {} });
    const registry = new JobRegistry([job]);
    await tick(registry, "2026-06-01T12:00:30Z");
    await tick(registry, "2026-06-01T12:01:30Z"); // 12:00 late
    await tick(registry, "2026-06-01T12:11:30Z"); // 12:10 late, 10 min after: held
    expect(await sent(job.name, "late")).toEqual(onceEach);
    await tick(registry, "2026-06-01T12:21:30Z"); // 12:20 late, 20 min after: alerted
    expect(await sent(job.name, "late")).toEqual({ email: 2, slack: 2, webhook: 2 });
  });

  it("paused, disabled and dead-lettered jobs are not late; a job with late alerts off gets its missed alert instead", async () => {
    const paused = defineJob({ name: uniqueName("late-paused"), schedule: "*/10 * * * *", handler: () => {} });
    const disabled = defineJob({ name: uniqueName("late-disabled"), schedule: "*/10 * * * *", enabled: false, handler: () => {} });
    const lettered = defineJob({ name: uniqueName("late-dlq"), schedule: "*/10 * * * *", handler: () => {} });
    const off = defineJob({ name: uniqueName("late-off"), schedule: "*/10 * * * *", alerts: { lateAfter: false }, handler: () => {} });
    const registry = new JobRegistry([paused, disabled, lettered, off]);
    const missedCalls: string[] = [];
    const onMissed = async (j: JobDefinition) => void missedCalls.push(j.name);
    await tick(registry, "2026-06-01T12:00:30Z", { onMissed });
    await ctx.db.execute(sql`UPDATE cron_job_config SET paused = true WHERE job_name = ${paused.name}`);
    await ctx.db.execute(sql`UPDATE cron_job_config SET dead_lettered = true WHERE job_name = ${lettered.name}`);
    const report = await tick(registry, "2026-06-01T12:11:30Z", { onMissed });
    expect(report.monitors?.late).toEqual([]);
    for (const j of [paused, disabled, lettered, off]) expect(await sent(j.name, "late")).toEqual({});
    expect(missedCalls).toEqual([off.name]);
  });

  it("pausing a late job ends its late incident without a recovered alert", async () => {
    const job = defineJob({ name: uniqueName("late-then-paused"), schedule: "*/10 * * * *", handler: () => {} });
    const registry = new JobRegistry([job]);
    await tick(registry, "2026-06-01T12:00:30Z");
    await tick(registry, "2026-06-01T12:11:30Z");
    expect(await sent(job.name, "late")).toEqual(onceEach);
    await ctx.db.execute(sql`UPDATE cron_job_config SET paused = true WHERE job_name = ${job.name}`);
    const report = await tick(registry, "2026-06-01T12:21:30Z");
    expect(report.monitors?.recovered).toEqual([]);
    expect(await openMonitors(ctx.db, job.name)).toEqual([]);
    expect(await sent(job.name, "recovered")).toEqual({});
    expect(await sent(job.name, "late")).toEqual(onceEach);
  });

  it("a shorter lateAfter alerts before the slot counts as missed", async () => {
    const job = defineJob({ name: uniqueName("late-short"), schedule: "0 * * * *", alerts: { lateAfter: "20s" }, handler: () => {} });
    const registry = new JobRegistry([job]);
    await tick(registry, "2026-06-01T11:59:00Z");
    const report = await tick(registry, "2026-06-01T12:00:30Z");
    expect(report.monitors?.late).toEqual([{ jobName: job.name, slots: ["2026-06-01T12:00:00.000Z"] }]);
    expect(report.missed).toEqual([]);
    expect(await sent(job.name, "late")).toEqual(onceEach);
  });

  // ---- long runs ---------------------------------------------------------------------------

  it("a run still started past maxRuntime (80% of its timeout) alerts long_running once, before its timeout", async () => {
    const job = defineJob({ name: uniqueName("long"), schedule: "0 0 * * *", timeout: "60s", handler: () => {} });
    const quick = defineJob({ name: uniqueName("long-off"), schedule: "0 0 * * *", timeout: "60s", alerts: { maxRuntime: false }, handler: () => {} });
    const registry = new JobRegistry([job, quick]);
    await insertRuns(job.name, [{ status: "started", startedAt: "2026-06-01T12:00:00Z" }]);
    await insertRuns(quick.name, [{ status: "started", startedAt: "2026-06-01T12:00:00Z" }]);
    const early = await tick(registry, "2026-06-01T12:00:47Z"); // 47 s < 48 s
    expect(early.monitors?.longRunning).toEqual([]);
    const report = await tick(registry, "2026-06-01T12:00:49Z");
    expect(report.monitors?.longRunning).toMatchObject([{ jobName: job.name, runningMs: 49_000 }]);
    await tick(registry, "2026-06-01T12:00:55Z");
    expect(await sent(job.name, "long_running")).toEqual(onceEach);
    expect(await sent(quick.name, "long_running")).toEqual({});
    expect(hooks(job.name, "long_running")[0].detail).toMatchObject({ runningSeconds: 49, maxRuntimeSeconds: 48, timeoutSeconds: 60 });
  });

  // ---- rates -------------------------------------------------------------------------------

  const rateJob = (prefix: string, alerts: JobConfig["alerts"]) => defineJob({ name: uniqueName(prefix), schedule: "0 0 * * *", handler: () => {}, alerts });

  it("failure, timeout and lock-contention rates over their thresholds alert once each on each channel, held while open, recovered once", async () => {
    const failing = rateJob("rate-fail", { timeoutRate: false, lockContention: false });
    const timing = rateJob("rate-timeout", { failureRate: false, lockContention: false });
    const locked = rateJob("rate-lock", { failureRate: false, timeoutRate: false });
    const healthy = rateJob("rate-ok", {});
    const registry = new JobRegistry([failing, timing, locked, healthy]);
    // Within the hour before 13:00: 2 of 10 failed (20% > 10%), 1 of 10 timed out (10% > 5%),
    // 8 of 10 triggers met a held lease (80% > 70%); the healthy job's 10 runs all completed.
    await insertRuns(failing.name, [...runsAt("2026-06-01T12:10:00Z", 8, "completed"), ...runsAt("2026-06-01T12:20:00Z", 2, "failed")]);
    await insertRuns(timing.name, [...runsAt("2026-06-01T12:10:00Z", 9, "completed"), ...runsAt("2026-06-01T12:20:00Z", 1, "timed_out")]);
    await insertRuns(locked.name, [...runsAt("2026-06-01T12:10:00Z", 2, "completed"), ...runsAt("2026-06-01T12:20:00Z", 8, "skipped", "already_running")]);
    await insertRuns(healthy.name, runsAt("2026-06-01T12:10:00Z", 10, "completed"));
    // Older than the window: not counted.
    await insertRuns(healthy.name, runsAt("2026-06-01T11:00:00Z", 10, "failed"));

    const first = await tick(registry, "2026-06-01T13:00:00Z");
    expect(first.errors).toEqual([]);
    expect(first.monitors?.open.map((m) => `${m.jobName}/${m.kind}/${m.value}/${m.opened}`).sort()).toEqual(
      [`${failing.name}/failure_rate/20/true`, `${locked.name}/lock_contention/80/true`, `${timing.name}/timeout_rate/10/true`].sort(),
    );
    await tick(registry, "2026-06-01T13:01:00Z");
    await tick(registry, "2026-06-01T13:05:00Z");
    expect(await sent(failing.name, "failure_rate")).toEqual(onceEach);
    expect(await sent(timing.name, "timeout_rate")).toEqual(onceEach);
    expect(await sent(locked.name, "lock_contention")).toEqual(onceEach);
    for (const kind of ["failure_rate", "timeout_rate", "lock_contention"]) expect(await sent(healthy.name, kind)).toEqual({});
    // Held by the monitor's own alerted_at: no claim, so no suppressed row per channel every tick.
    const [held] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_alerts WHERE job_name = ${failing.name} AND status = 'suppressed'`);
    expect(held.n).toBe(0);
    expect(hooks(failing.name, "failure_rate")[0].detail).toMatchObject({ percent: 20, runs: 10, matching: 2, thresholdPercent: 10, windowMinutes: 60 });

    // The failures slide out of the window (12:20 + 1 h): recovered once, with the monitor's incident.
    const [open] = await openMonitors(ctx.db, failing.name);
    await tick(registry, "2026-06-01T13:21:00Z");
    await tick(registry, "2026-06-01T13:22:00Z");
    expect(await sent(failing.name, "recovered")).toEqual(onceEach);
    const [recovered] = await queryRows<{ incident_id: string }>(ctx.db, sql`SELECT DISTINCT incident_id FROM cron_alerts WHERE job_name = ${failing.name} AND kind = 'recovered'`);
    expect(recovered.incident_id).toBe(open.incidentId);
    expect(await openMonitors(ctx.db, failing.name)).toEqual([]);
  });

  it("a job's own threshold beats the environment's default, and fewer runs than minRuns say nothing", async () => {
    const strict = rateJob("rate-strict", { failureRate: { above: 50, minRuns: 4 }, timeoutRate: false, lockContention: false });
    const few = rateJob("rate-few", { timeoutRate: false, lockContention: false });
    const registry = new JobRegistry([strict, few]);
    await insertRuns(strict.name, [...runsAt("2026-06-01T12:10:00Z", 2, "completed"), ...runsAt("2026-06-01T12:20:00Z", 2, "failed")]); // 50%: not above 50
    await insertRuns(few.name, runsAt("2026-06-01T12:20:00Z", 9, "failed")); // 9 < 10 runs
    expect((await tick(registry, "2026-06-01T13:00:00Z")).monitors?.open).toEqual([]);
    await insertRuns(strict.name, runsAt("2026-06-01T12:30:00Z", 1, "failed")); // 3 of 5: 60%
    const report = await tick(registry, "2026-06-01T13:00:30Z");
    expect(report.monitors?.open).toEqual([{ jobName: strict.name, kind: "failure_rate", value: 60, opened: true }]);
  });

  // ---- system-wide -------------------------------------------------------------------------

  it("a dead-letter backlog over CRON_ALERT_DLQ_PENDING, or older than CRON_ALERT_DLQ_AGE, alerts once and recovers once", async () => {
    const registry = new JobRegistry([]);
    const letter = (createdAt: string) =>
      ctx.db.execute(sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, created_at) VALUES (gen_random_uuid(), 'dlq-job', 'boom', ${createdAt}::timestamptz)`);
    for (let i = 0; i < 11; i++) await letter("2026-06-01T11:00:00Z");
    const first = await tick(registry, "2026-06-01T12:00:00Z");
    expect(first.monitors?.open).toEqual([{ jobName: SYSTEM_MONITOR, kind: "dead_letter_backlog", value: 11, opened: true }]);
    await tick(registry, "2026-06-01T12:01:00Z");
    expect(await sent(tickJob.name, "dead_letter_backlog")).toEqual(onceEach);
    // Settled down to one entry, but that one is more than a day old: still over.
    await ctx.db.execute(sql`UPDATE cron_dead_letters SET recovery_status = 'resolved' WHERE job_name = 'dlq-job'`);
    await ctx.db.execute(sql`UPDATE cron_dead_letters SET recovery_status = 'pending', created_at = '2026-05-31T10:00:00Z' WHERE id = (SELECT id FROM cron_dead_letters WHERE job_name = 'dlq-job' LIMIT 1)`);
    expect((await tick(registry, "2026-06-01T12:02:00Z")).monitors?.open).toMatchObject([{ kind: "dead_letter_backlog", value: 1, opened: false }]);
    await ctx.db.execute(sql`UPDATE cron_dead_letters SET recovery_status = 'resolved' WHERE job_name = 'dlq-job'`);
    const cleared = await tick(registry, "2026-06-01T12:03:00Z");
    await tick(registry, "2026-06-01T12:04:00Z");
    expect(cleared.monitors?.recovered).toEqual([{ jobName: SYSTEM_MONITOR, kind: "dead_letter_backlog" }]);
    expect(await sent(tickJob.name, "recovered")).toEqual(onceEach);
    expect(await sent(tickJob.name, "dead_letter_backlog")).toEqual(onceEach);
  });

  it("a lease expired longer ago than CRON_ALERT_STALE_LEASE and still held alerts stale_lease once per job, recovered once when freed", async () => {
    const job = defineJob({ name: uniqueName("stale"), schedule: "0 0 * * *", handler: () => {} });
    const fresh = defineJob({ name: uniqueName("stale-fresh"), schedule: "0 0 * * *", handler: () => {} });
    // The sweep would free these leases; the evaluation alone shows what the tick says when it cannot.
    const lease = (name: string, expiredAgo: string) =>
      ctx.db.execute(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at)
                         VALUES (${name}, gen_random_uuid(), 1, 'host-a:42', now() - interval '1 hour', now() - ${expiredAgo}::interval)`);
    await lease(job.name, "11 minutes");
    await lease(fresh.name, "2 minutes");
    const deps = { store: new PostgresMonitorStore(ctx.db), notify: dispatcher.notify.bind(dispatcher), settings: monitorSettingsFromEnv(env), graceMs: 60_000, system: { jobName: tickJob.name, category: "system" } };
    const jobs = [job, fresh].map((j) => ({ job: j, state: "enabled" as const }));
    const first = await evaluateMonitors(deps, { now: at("2026-06-01T12:00:00Z"), jobs });
    expect(first.open).toMatchObject([{ jobName: job.name, kind: "stale_lease", opened: true }]);
    await evaluateMonitors(deps, { now: at("2026-06-01T12:01:00Z"), jobs });
    expect(await sent(job.name, "stale_lease")).toEqual(onceEach);
    expect(await sent(fresh.name, "stale_lease")).toEqual({});
    await ctx.db.execute(sql`DELETE FROM cron_job_leases WHERE job_name = ${job.name}`);
    await evaluateMonitors(deps, { now: at("2026-06-01T12:02:00Z"), jobs });
    await evaluateMonitors(deps, { now: at("2026-06-01T12:03:00Z"), jobs });
    expect(await sent(job.name, "recovered")).toEqual(onceEach);
    await ctx.db.execute(sql`DELETE FROM cron_job_leases WHERE job_name = ${fresh.name}`);
  });

  // ---- isolation ---------------------------------------------------------------------------

  it("a failing monitor query is reported and the other monitors and the tick's other parts go on", async () => {
    const job = defineJob({ name: uniqueName("isolated"), schedule: "0 0 * * *", timeout: "60s", handler: () => {} });
    const failing = rateJob("isolated-rate", {});
    const registry = new JobRegistry([job, failing]);
    await insertRuns(job.name, [{ status: "started", startedAt: "2026-06-01T12:00:00Z" }]);
    await insertRuns(failing.name, runsAt("2026-06-01T12:10:00Z", 10, "failed"));
    const store = new PostgresMonitorStore(ctx.db);
    store.rateCounts = async () => {
      throw new Error("statement timeout");
    };
    const deps = { store, notify: dispatcher.notify.bind(dispatcher), settings: monitorSettingsFromEnv(env), graceMs: 60_000, system: { jobName: tickJob.name, category: "system" } };
    const report = await evaluateMonitors(deps, { now: at("2026-06-01T12:00:50Z"), jobs: [job, failing].map((j) => ({ job: j, state: "enabled" as const })) });
    expect(report.errors).toEqual([{ scope: "monitors: rates", error: "statement timeout" }]);
    expect(report.longRunning.map((r) => r.jobName)).toEqual([job.name]);
    expect(await sent(job.name, "long_running")).toEqual(onceEach);
  });
});
