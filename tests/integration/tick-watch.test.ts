import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AlertDispatcher, alertChannelsFromEnv } from "@/lib/alerts";
import type { WebhookPayload } from "@/lib/alerts/webhook";
import { createRuntime, type Runtime } from "@/lib/app/runtime";
import { deliverTick, tickJob } from "@/lib/app/tick";
import { checkHealth } from "@/lib/app/health";
import { afterTickRun, readTickHealth, tickHealthSummary, resetTickWatchThrottle, tickOverview, TICK_LATE_REALERT_MS, watchTick, watchTickThrottled, type TickWatchDeps } from "@/lib/app/tick-watch";
import { systemClock } from "@/lib/cron/clock";
import { JobRegistry } from "@/lib/cron/registry";
import type { TriggerOutcome } from "@/lib/cron/run-job";
import { queryRows } from "@/lib/db/client";
import { openMonitors, SYSTEM_MONITOR } from "@/lib/db/monitors";
import { parseEnv } from "@/lib/env";
import { describeOnDatabases } from "../support/db";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { startSmtpRecorder, type SmtpRecorder } from "../support/smtp-recorder";

/**
 * "Stop the tick" without sleeping: the tick really runs (deliverTick, its row written by the
 * database's clock), then the watch is asked at later instants (an injected `now`, and the
 * dispatcher's window on the same fake clock). Every channel is a local recorder: Slack and the
 * webhook on node:http, e-mail on smtp-server; the dead-man URL on node:http too.
 */

const MIN = 60_000;
const SECRET = "tick-watch-cron-secret-0123456789";
const HEARTBEAT_PATH = "/ping/5f1c7e2a-8c1d-4b7e-9a0e-2f3d4c5b6a79";

let slack: RecordingServer;
let webhook: RecordingServer;
let heartbeat: RecordingServer;
let smtp: SmtpRecorder;

beforeAll(async () => {
  [slack, webhook, heartbeat, smtp] = await Promise.all([startRecordingServer(), startRecordingServer(), startRecordingServer(), startSmtpRecorder()]);
});
afterAll(async () => {
  await Promise.all([slack?.close(), webhook?.close(), heartbeat?.close(), smtp?.close()]);
});

const slackTexts = () => slack.requests.map((r) => String((r.json as { text?: string }).text ?? ""));
const webhookKinds = () => webhook.requests.map((r) => (r.json as WebhookPayload).kind);
const mailSubjects = () => smtp.mails.map((m) => /^Subject: (.*)$/im.exec(m.raw)?.[1] ?? "");
const clearRecorders = () => {
  slack.requests.length = 0;
  webhook.requests.length = 0;
  heartbeat.requests.length = 0;
  smtp.mails.length = 0;
};

describeOnDatabases("the tick watch", (ctx) => {
  let fakeNow = new Date();
  let runtime: Runtime;
  let deps: () => TickWatchDeps;
  const logs: string[] = [];

  beforeAll(() => {
    const env = parseEnv({
      CRON_SECRET: SECRET,
      CRON_PLAN: "pro",
      SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/slacktoken`,
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      ALERT_EMAIL_TO: "ops@example.com",
      ALERT_WEBHOOK_URL: `${webhook.url}/hooks/crondeck`,
      NEXT_PUBLIC_APP_URL: "https://crondeck.example.com",
    });
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: alertChannelsFromEnv(env, { timeoutMs: 2_000 }), now: () => fakeNow, log: (m) => logs.push(m) });
    runtime = createRuntime({ env, database: ctx.database, registry: new JobRegistry([]), dispatcher });
    deps = () => ({ db: ctx.db, env, notify: runtime.observers.notify, now: fakeNow, log: (m) => logs.push(m) });
  });

  beforeEach(() => clearRecorders());

  const dbNow = async (): Promise<Date> => {
    const [row] = await queryRows<{ now: Date | string }>(ctx.db, sql`SELECT now() AS now`);
    return new Date(row.now);
  };
  // Each delivery claims a minute of its own (the engine's clock set back ten minutes more each
  // time): two deliveries within one real minute would be one slot, the second a duplicate.
  let ticks = 0;
  const tick = async (): Promise<TriggerOutcome> => {
    const offset = -++ticks * 10 * MIN;
    const clock = { ...systemClock, now: () => Date.now() + offset };
    return deliverTick({ ...runtime, engine: { ...runtime.engine, clock } }, { baseUrl: "http://127.0.0.1:9", budgetMs: 30_000 });
  };

  it("a database with jobs' runs and no tick run ever is late: alerted once on each channel", async () => {
    const now = await dbNow();
    await ctx.db.execute(sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms) VALUES ('report', 'completed', ${new Date(now.getTime() - 10 * MIN).toISOString()}::timestamptz, ${new Date(now.getTime() - 10 * MIN).toISOString()}::timestamptz, 5)`);
    fakeNow = now;
    const health = await readTickHealth(ctx.db, "pro", fakeNow);
    expect(health).toMatchObject({ state: "never", late: true, lastRun: null, expectedEveryMs: MIN, lateAfterMs: 2 * MIN });

    const first = await watchTick(deps());
    expect(first.action).toBe("opened");
    expect(first.alert).toMatchObject({ delivered: expect.arrayContaining(["slack", "email", "webhook"]), suppressed: false });
    expect(slackTexts()).toHaveLength(1);
    expect(slackTexts()[0]).toContain("crondeck-tick has not run on schedule");
    expect(webhookKinds()).toEqual(["tick_late"]);
    expect(mailSubjects()).toHaveLength(1);
    expect(mailSubjects()[0]).toContain("crondeck-tick has not run on schedule");

    // Checked again and again while it stays late (one minute apart): no second alert.
    for (let i = 1; i <= 5; i++) {
      fakeNow = new Date(now.getTime() + i * MIN);
      expect((await watchTick(deps())).action).toBe("open");
    }
    expect(slackTexts()).toHaveLength(1);
    expect(webhook.requests).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    const [monitor] = await openMonitors(ctx.db, SYSTEM_MONITOR);
    expect(monitor).toMatchObject({ kind: "tick_late", incidentId: first.incidentId });
    // While it stays open and is not due, a check writes nothing: the row is as the opening left it.
    expect(monitor.checkedAt.getTime()).toBe(now.getTime());
    expect((await readTickHealth(ctx.db, "pro", fakeNow)).incident).toEqual({ incidentId: first.incidentId, openedAt: now.toISOString(), alertedAt: now.toISOString() });
  });

  it("the tick runs again: the watch closes and one recovered alert (monitor tick_late) goes to each channel; the dead-man URL hears of it", async () => {
    const outcome = await tick();
    expect(outcome.kind).toBe("ran");
    fakeNow = await dbNow();
    const result = await afterTickRun({ ...deps(), heartbeatUrl: `${heartbeat.url}${HEARTBEAT_PATH}` }, outcome);
    expect(result.watch?.action).toBe("closed");
    expect(result.heartbeat).toMatchObject({ ok: true, signal: "success", statusCode: 200 });
    expect(heartbeat.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${HEARTBEAT_PATH}`]);
    expect(heartbeat.requests[0].body).toBe("crondeck tick: abandoned=0 retries=0 orphaned=0 missed=0 dispatched=0 errors=0");
    expect(webhookKinds()).toEqual(["recovered"]);
    expect((webhook.requests[0].json as WebhookPayload).detail.monitor).toBe("tick_late");
    expect(slackTexts()).toHaveLength(1);
    expect(slackTexts()[0]).toContain("crondeck-tick recovered: runs on schedule again");
    expect(smtp.mails).toHaveLength(1);
    expect(await openMonitors(ctx.db, SYSTEM_MONITOR)).toEqual([]);

    // A second check finds nothing open: no second recovery.
    expect((await watchTick(deps())).action).toBe("none");
    expect(webhook.requests).toHaveLength(1);
  });

  it("stopping the tick shows within two tick intervals (Pro: a minute + the minute's grace), alerts once, re-alerts after an hour, recovers once", async () => {
    const outcome = await tick();
    const ranAt = new Date((outcome as Extract<TriggerOutcome, { kind: "ran" }>).run.startedAt);
    fakeNow = new Date(ranAt.getTime() + 2 * MIN - 1_000);
    expect((await watchTick(deps())).action).toBe("none");
    expect((await readTickHealth(ctx.db, "pro", fakeNow)).late).toBe(false);

    fakeNow = new Date(ranAt.getTime() + 2 * MIN + 1_000);
    const health = await readTickHealth(ctx.db, "pro", fakeNow);
    expect(health).toMatchObject({ state: "late", late: true, lastRun: { status: "completed" } });
    expect(health.lagMs).toBeGreaterThan(2 * MIN);
    const opened = await watchTick(deps());
    expect(opened.action).toBe("opened");
    expect(webhookKinds()).toEqual(["tick_late"]);
    const payload = webhook.requests[0].json as WebhookPayload;
    expect(payload).toMatchObject({ jobName: tickJob.name, category: "system", url: "https://crondeck.example.com/dashboard/admin/tick" });
    expect(payload.detail).toMatchObject({ monitor: "tick_late", expectedEveryMs: MIN, lateAfterMs: 2 * MIN });
    expect(payload.error).toContain("vercel.json");

    fakeNow = new Date(fakeNow.getTime() + TICK_LATE_REALERT_MS - 1_000);
    expect((await watchTick(deps())).action).toBe("open");
    expect(webhook.requests).toHaveLength(1);
    fakeNow = new Date(fakeNow.getTime() + 2_000);
    const again = await watchTick(deps());
    expect(again).toMatchObject({ action: "realerted", incidentId: opened.incidentId });
    expect(webhookKinds()).toEqual(["tick_late", "tick_late"]);
    expect(slack.requests).toHaveLength(2);
    expect(smtp.mails).toHaveLength(2);

    // cron_alerts holds what was sent: two tick_late deliveries per channel, none suppressed (the watch does not ask when not due).
    const rows = await queryRows<{ channel: string; status: string; n: number | string }>(
      ctx.db,
      sql`SELECT channel, status, count(*) AS n FROM cron_alerts WHERE job_name = ${tickJob.name} AND kind = 'tick_late' AND incident_id = ${opened.incidentId}::uuid GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(rows.map((r) => `${r.channel}:${r.status}:${Number(r.n)}`)).toEqual(["email:sent:2", "slack:sent:2", "webhook:sent:2"]);

    // The tick route closes it after the next tick run.
    const next = await tick();
    fakeNow = await dbNow();
    clearRecorders();
    expect((await afterTickRun(deps(), next)).watch?.action).toBe("closed");
    expect(webhookKinds()).toEqual(["recovered"]);
    expect(slack.requests).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
  });

  it("two processes checking at once open one incident and deliver one alert per channel", async () => {
    const outcome = await tick();
    const ranAt = new Date((outcome as Extract<TriggerOutcome, { kind: "ran" }>).run.startedAt);
    fakeNow = new Date(ranAt.getTime() + 3 * MIN);
    const results = await Promise.all([watchTick(deps()), watchTick(deps()), watchTick(deps())]);
    expect(new Set(results.map((r) => r.incidentId)).size).toBe(1);
    expect(webhook.requests).toHaveLength(1);
    expect(slack.requests).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    await afterTickRun(deps(), await tick()).then(() => undefined);
  });

  it("the routes' check runs at most once a minute per process; the overview lists the tick's runs with their reports", async () => {
    resetTickWatchThrottle(ctx.db);
    fakeNow = await dbNow();
    expect(await watchTickThrottled(deps())).not.toBeNull();
    fakeNow = new Date(fakeNow.getTime() + 30_000);
    expect(await watchTickThrottled(deps())).toBeNull();
    fakeNow = new Date(fakeNow.getTime() + 31_000);
    expect(await watchTickThrottled(deps())).not.toBeNull();

    const overview = await tickOverview(deps(), { limit: 2 });
    expect(overview).toMatchObject({ watch: "none", health: { late: false, incident: null } });
    expect(overview.runs).toHaveLength(2);
    expect(overview.runs[0].startedAt >= overview.runs[1].startedAt).toBe(true);
    expect(overview.runs[0]).toMatchObject({ status: "completed", work: { abandoned: 0, retries: 0, missed: 0, dispatched: 0, errors: 0 }, report: { errors: [] } });
    const older = await tickOverview(deps(), { limit: 100, before: new Date(overview.runs[1].startedAt) });
    expect(older.runs.every((r) => r.startedAt < overview.runs[1].startedAt)).toBe(true);
    expect(overview.runs.length + older.runs.length).toBe((await readTickHealth(ctx.db, "pro", fakeNow)).runs24h);
  });

  it("a tick whose report has errors pings <url>/fail; nothing is pinged for a duplicate delivery", async () => {
    const failing = { kind: "ran", run: { output: { abandoned: [], retries: [], orphaned: [], missed: [], dispatched: [], errors: [{ scope: "dispatch", error: "401" }] } } } as unknown as TriggerOutcome;
    const result = await afterTickRun({ ...deps(), heartbeatUrl: `${heartbeat.url}${HEARTBEAT_PATH}?rid=1` }, failing);
    expect(result.heartbeat).toMatchObject({ ok: true, signal: "fail" });
    expect(heartbeat.requests.map((r) => r.path)).toEqual([`${HEARTBEAT_PATH}/fail?rid=1`]);
    expect(heartbeat.requests[0].body).toContain("errors=1");

    const duplicate = { kind: "skipped", jobName: tickJob.name, reason: "duplicate", runId: "x", scheduledFor: null, trigger: "schedule", startedAt: new Date() } as TriggerOutcome;
    expect((await afterTickRun({ ...deps(), heartbeatUrl: `${heartbeat.url}${HEARTBEAT_PATH}` }, duplicate)).heartbeat).toBeNull();
    expect(heartbeat.requests).toHaveLength(1);
  });

  it("the health check reports the tick; a failing tick read is reported unknown, redacted, and the check stays healthy", async () => {
    fakeNow = await dbNow();
    const ok = await checkHealth({ openDb: async () => ctx.db, databaseKind: ctx.kind, version: "t", tick: async (db) => tickHealthSummary(await readTickHealth(db, "pro", fakeNow)) });
    expect(ok).toMatchObject({ status: "ok", tick: { state: "ok", late: false, expectedEveryMs: MIN } });
    const lines: string[] = [];
    const failed = await checkHealth({
      openDb: async () => ctx.db,
      version: "t",
      log: (m) => lines.push(m),
      tick: async () => {
        throw new Error("connect ECONNREFUSED postgres://crondeck:hunter2secret@db.internal:5432/app");
      },
    });
    expect(failed).toMatchObject({ status: "ok", database: "ok", tick: { state: "unknown", late: null } });
    expect(JSON.stringify(failed)).not.toContain("hunter2secret");
    expect(lines.join("\n")).toContain("tick check failed");
    expect(lines.join("\n")).not.toContain("hunter2secret");
  });

  describe("on Hobby (the tick runs once a day)", () => {
    it("is late only after a day and the hour's grace", async () => {
      const outcome = await tick();
      const ranAt = new Date((outcome as Extract<TriggerOutcome, { kind: "ran" }>).run.startedAt);
      const hobby = (now: Date) => readTickHealth(ctx.db, "hobby", now);
      expect(await hobby(new Date(ranAt.getTime() + 24 * 60 * MIN))).toMatchObject({ late: false, expectedEveryMs: 86_400_000, lateAfterMs: 90_000_000 });
      expect(await hobby(new Date(ranAt.getTime() + 25 * 60 * MIN + 1_000))).toMatchObject({ late: true, state: "late" });
    });
  });
});
