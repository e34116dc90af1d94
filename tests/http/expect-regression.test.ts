import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { decodeMail, startSmtpRecorder, type SmtpRecorder } from "../support/smtp-recorder";

/**
 * "Did it do work" and duration regressions end to end: `next start` with the monitoring test
 * jobs (lib/jobs/monitor-jobs.ts, CRONDECK_FAULT_JOBS=1) and every alert channel pointed at a
 * local recorder (Slack and the webhook: node:http; e-mail: smtp-server). Runs are triggered over
 * HTTP; the test writes a job's history straight into the database, so it needs the Postgres
 * server (skipped without one, and says so). Then the dead-letter insight route and the daily
 * digest over the same server.
 */
const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON = { authorization: `Bearer ${SECRET}` };
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

describeWithPostgres("expect, regression, dead-letter insight and digest over HTTP", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  let slack: RecordingServer;
  let hook: RecordingServer;
  let smtp: SmtpRecorder;

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    [slack, hook, smtp] = await Promise.all([startRecordingServer(), startRecordingServer(), startSmtpRecorder()]);
    server = await startNextServer({
      env: {
        DATABASE_URL: database.url,
        CRON_SECRET: SECRET,
        ADMIN_TOKEN,
        CRONDECK_FAULT_JOBS: "1",
        SLACK_WEBHOOK_URL: `${slack.url}/hooks/team`,
        ALERT_WEBHOOK_URL: `${hook.url}/hook`,
        SMTP_URL: smtp.url("alerts@example.com", "smtp-password"),
        ALERT_EMAIL_TO: "ops@example.com",
        NEXT_PUBLIC_APP_URL: "http://crondeck.test",
        CRON_DEAD_LETTER_DIGEST: "1",
      },
    });
    // First use opens and migrates the database.
    const warm = await fetch(`${server.url}/api/admin/cron-jobs`, { headers: ADMIN });
    expect(warm.status).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await Promise.all([slack?.close(), hook?.close(), smtp?.close()]);
    await database?.dispose();
  });

  const q = async (text: string, values: unknown[] = []) => (await pool.query(text, values)).rows;
  const execute = async (job: string) => {
    const response = await fetch(`${server.url}/api/cron/execute/${job}`, { method: "POST", headers: CRON });
    return { status: response.status, body: await response.json() };
  };
  /**
   * What each channel received about `kind` of `job`: Slack's text and the e-mails (decoded) whose
   * text matches, the webhook's JSON payloads (facts, no text) of that kind and job.
   */
  const received = (match: RegExp, kind: string, job: string) => ({
    slack: slack.requests.map((r) => String((r.json as { text?: string })?.text ?? "").replace(/&lt;/g, "<").replace(/&gt;/g, ">")).filter((t) => match.test(t)),
    webhook: hook.requests.map((r) => r.json as { kind: string; jobName: string; error: string | null; detail: Record<string, unknown> }).filter((p) => p.kind === kind && p.jobName === job),
    email: smtp.mails.map((m) => decodeMail(m.raw)).filter((t) => match.test(t)),
  });
  /** History rows: completed (or another status) runs of `job` with these durations, started just before now, newest first. */
  const history = async (job: string, durations: number[], status = "completed", spacingMs = 5) => {
    for (const [i, d] of durations.entries()) {
      await q(
        `INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger)
         VALUES ($1, $2, now() - make_interval(secs => $3::float8 / 1000), now() - make_interval(secs => $3::float8 / 1000) + make_interval(secs => $4::float8 / 1000), $4, 'schedule')`,
        [job, status, (i + 1) * spacingMs, d],
      );
    }
  };

  it("answers a run that returned but processed nothing as failed with expect's reason, stores and dead-letters it, and alerts once on each channel", async () => {
    const reply = await execute("monitor-empty");
    expect(reply.status).toBe(500);
    expect(reply.body).toMatchObject({ success: false, jobName: "monitor-empty", error: "expect: processed nothing", execution: { status: "failed", attempts: 2 } });
    const [run] = await q(`SELECT status, error_message, attempts, output FROM cron_job_logs WHERE id = $1`, [reply.body.execution.id]);
    expect(run).toMatchObject({ status: "failed", error_message: "expect: processed nothing", attempts: 2 });
    const entries = await q(`SELECT failure_reason, recovery_status FROM cron_dead_letters WHERE run_id = $1`, [reply.body.execution.id]);
    expect(entries).toEqual([{ failure_reason: "expect: processed nothing", recovery_status: "pending" }]);

    // Delivered before the response ended: no waiting.
    const failure = received(/monitor-empty failed/, "failure", "monitor-empty");
    expect(failure.slack, JSON.stringify(slack.requests.map((r) => r.json))).toHaveLength(1);
    expect(failure.slack[0]).toContain("Error: expect: processed nothing");
    expect(failure.webhook).toHaveLength(1);
    expect(failure.webhook[0].error).toBe("expect: processed nothing");
    expect(failure.email).toHaveLength(1);
    expect(failure.email[0]).toContain("expect: processed nothing");
    // The dead letter is alerted once per channel as well (alerts.onDeadLetter, the default).
    const dead = received(/monitor-empty was moved to the dead-letter queue/, "dead_letter", "monitor-empty");
    expect([dead.slack.length, dead.email.length, dead.webhook.length]).toEqual([1, 1, 1]);
    const sent = await q(`SELECT kind, channel FROM cron_alerts WHERE job_name = 'monitor-empty' AND status = 'sent' ORDER BY kind, channel`);
    expect(sent.map((r) => `${r.kind}:${r.channel}`)).toEqual(["dead_letter:email", "dead_letter:slack", "dead_letter:webhook", "failure:email", "failure:slack", "failure:webhook"]);
  });

  it("alerts once per channel when a run takes 10x its history's p95, not for a normal run, and leaves abandoned and timed-out runs out of the p95", async () => {
    // A normal run: history of 400 ms runs, this one about 200 ms.
    await history("monitor-slow", Array(20).fill(400), "completed", 1_000);
    const normal = await execute("monitor-slow");
    expect(normal.status, JSON.stringify(normal.body)).toBe(200);
    const none = received(/monitor-slow took far longer/, "regression", "monitor-slow");
    expect([none.slack, none.email, none.webhook]).toEqual([[], [], []]);

    // Now the last 20 completed runs took 20 ms; runs that never finished took far longer, and
    // would lift the p95 above this run's 200 ms were they counted.
    await history("monitor-slow", Array(20).fill(20), "completed", 3);
    await history("monitor-slow", [90_000, 90_000], "abandoned", 4);
    await history("monitor-slow", [10_000], "timed_out", 7);
    const slow = await execute("monitor-slow");
    expect(slow.status).toBe(200);
    expect(slow.body.execution.duration).toBeGreaterThanOrEqual(200);
    const regressed = received(/monitor-slow took far longer than its recent runs/, "regression", "monitor-slow");
    expect(regressed.slack, JSON.stringify(slack.requests.map((r) => r.json)).slice(-2000)).toHaveLength(1);
    expect(regressed.email).toHaveLength(1);
    expect(regressed.webhook).toHaveLength(1);
    expect(regressed.webhook[0]).toMatchObject({ kind: "regression", jobName: "monitor-slow", runId: slow.body.execution.id, detail: { p95Ms: 20, factor: 3, runsCompared: 20 } });
    expect(regressed.slack[0]).toContain("P95 ms: 20");
    expect(regressed.slack[0]).toContain("Runs compared: 20");
    expect(regressed.slack[0]).toContain("Factor: 3");
    expect(regressed.slack[0]).toMatch(/Error: took \d+ ms, [\d.]+x the p95 of its last 20 completed runs \(20 ms\); the threshold is 3x/);
    const rows = await q(`SELECT kind, run_id FROM cron_alerts WHERE job_name = 'monitor-slow' AND status = 'sent'`);
    expect(rows.map((r) => [r.kind, r.run_id])).toEqual([
      ["regression", slow.body.execution.id],
      ["regression", slow.body.execution.id],
      ["regression", slow.body.execution.id],
    ]);
  });

  it("serves the dead-letter insight to admins, and answers bad input with a 400 that names the parameter", async () => {
    const ok = await fetch(`${server.url}/api/admin/dead-letter-queue/insight?days=7&job=monitor-empty`, { headers: ADMIN });
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(body).toMatchObject({ success: true, window: { days: 7, jobName: "monitor-empty" }, totals: { entries: 1, pending: 1, recovered: 0, avgRecoveryMs: null } });
    expect(body.perDay).toHaveLength(7);
    expect(body.perDay.at(-1)).toEqual({ day: new Date().toISOString().slice(0, 10), entries: 1 });
    expect(body.topReasons).toEqual([expect.objectContaining({ fingerprint: "expect: processed nothing", entries: 1, jobs: ["monitor-empty"] })]);
    const everything = await (await fetch(`${server.url}/api/admin/dead-letter-queue/insight`, { headers: ADMIN })).json();
    expect(everything.window.days).toBe(30);

    for (const [query, field] of [
      ["days=0", "days"],
      ["days=367", "days"],
      ["days=1.5", "days"],
      ["days=abc", "days"],
      ["job=Not_A_Job", "job"],
      ["jobName=monitor-empty", "jobName"],
    ] as const) {
      const bad = await fetch(`${server.url}/api/admin/dead-letter-queue/insight?${query}`, { headers: ADMIN });
      const text = await bad.text();
      expect(bad.status, `${query}: ${text}`).toBe(400);
      expect(bad.headers.get("content-type")).toContain("application/json");
      expect(text, query).toContain(field);
      expect(text).not.toMatch(/at .*\.ts:\d+|node_modules/);
    }
    expect((await fetch(`${server.url}/api/admin/dead-letter-queue/insight`)).status).toBe(401);
    const post = await fetch(`${server.url}/api/admin/dead-letter-queue/insight`, { method: "POST", headers: ADMIN });
    expect(post.status).toBe(405);
  });

  it("shows the insight above the dashboard's dead-letter list", async () => {
    const login = await fetch(`${server.url}/api/admin/session`, { method: "POST", headers: { origin: server.url, "content-type": "application/json" }, body: JSON.stringify({ token: ADMIN_TOKEN }) });
    expect(login.status).toBe(200);
    const cookie = (login.headers.getSetCookie()[0] ?? "").split(";")[0];
    const page = await fetch(`${server.url}/dashboard/admin/dead-letters?days=7`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const section = html.indexOf('data-testid="dead-letter-insight"');
    expect(section).toBeGreaterThan(-1);
    expect(section).toBeLessThan(html.indexOf('aria-label="Dead-letter entries"'));
    expect(html).toContain("expect: processed nothing");
    expect(html).toMatch(/aria-current="page"[^>]*>7(<!-- -->)? days/);
  });

  it("sends the daily digest of the pending entries once on each channel, and a second run says it was already sent", async () => {
    const reply = await execute("dead-letter-digest");
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const [run] = await q(`SELECT output FROM cron_job_logs WHERE id = $1`, [reply.body.execution.id]);
    expect(run.output).toMatchObject({ sent: true, pending: 1, delivered: ["slack", "email", "webhook"], oldest: { jobName: "monitor-empty" } });
    const digest = received(/dead-letter digest/i, "dead_letter_digest", "dead-letter-digest");
    expect([digest.slack.length, digest.email.length, digest.webhook.length]).toEqual([1, 1, 1]);
    expect(digest.slack[0]).toContain("Pending: 1");
    expect(digest.slack[0]).toContain("Reason 1: 1 x expect: processed nothing [monitor-empty]");
    expect(digest.slack[0]).toContain("http://crondeck.test/dashboard/admin/dead-letters");

    const again = await execute("dead-letter-digest");
    const [second] = await q(`SELECT output FROM cron_job_logs WHERE id = $1`, [again.body.execution.id]);
    expect(second.output).toMatchObject({ sent: false, reason: "suppressed" });
    const after = received(/dead-letter digest/i, "dead_letter_digest", "dead-letter-digest");
    expect([after.slack.length, after.email.length, after.webhook.length]).toEqual([1, 1, 1]);
  });
});
