import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";

/**
 * The tick's monitors over real HTTP: `next start` on a Postgres database the test also writes,
 * Slack and the generic webhook pointed at local recorders. One delivery of /api/cron/tick finds a
 * demo-pulse run past its maxRuntime (24 s, 80% of its 30 s timeout) and demo-slow failing more
 * than 10% of its runs; the admin API then shows demo-slow's effective settings and its open monitor.
 */
const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;

describeWithPostgres("tick monitors over HTTP", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  let slack: RecordingServer;
  let webhook: RecordingServer;

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    [slack, webhook] = await Promise.all([startRecordingServer(), startRecordingServer()]);
    server = await startNextServer({
      env: {
        DATABASE_URL: database.url,
        CRON_SECRET: SECRET,
        ADMIN_TOKEN,
        CRON_DEMO: "1",
        CRON_PLAN: "pro",
        SLACK_WEBHOOK_URL: `${slack.url}/hooks/team`,
        ALERT_WEBHOOK_URL: `${webhook.url}/hook`,
        CRON_ALERT_FAILURE_RATE: "10",
        NEXT_PUBLIC_APP_URL: "http://crondeck.test",
      },
    });
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await Promise.all([slack?.close(), webhook?.close()]);
    await database?.dispose();
  });

  it("one tick alerts a long run and a failure rate once on each channel; the admin API shows the job's monitoring", async () => {
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO cron_job_logs (job_name, status, started_at, trigger, lease_expires_at, holder)
       VALUES ('demo-pulse', 'started', now() - interval '25 seconds', 'manual', now() + interval '1 hour', 'elsewhere:1') RETURNING id`,
    );
    const longRun = rows[0].id;
    // 3 of 12 demo-slow runs in the last hour failed: 25% > 10%.
    await pool.query(
      `INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger)
       SELECT 'demo-slow', CASE WHEN i <= 3 THEN 'failed' ELSE 'completed' END, now() - i * interval '1 minute', now() - i * interval '1 minute', 10, 'manual'
         FROM generate_series(1, 12) AS i`,
    );

    const tick = await fetch(`${server.url}/api/cron/tick`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(tick.status).toBe(200);
    const kinds = () => webhook.requests.map((r) => r.json as { kind: string; jobName: string; runId: string | null; url: string | null });
    const long = kinds().filter((k) => k.kind === "long_running");
    expect(long).toEqual([expect.objectContaining({ jobName: "demo-pulse", runId: longRun, url: `http://crondeck.test/dashboard/admin/cron-jobs/demo-pulse?run=${longRun}` })]);
    expect(kinds().filter((k) => k.kind === "failure_rate").map((k) => k.jobName)).toEqual(["demo-slow"]);
    const slackTexts = slack.requests.map((r) => (r.json as { text: string }).text);
    expect(slackTexts.filter((t) => t.includes("demo-pulse is still running past its maxRuntime"))).toHaveLength(1);
    expect(slackTexts.filter((t) => t.includes("demo-slow fails more often than its failure-rate threshold"))).toHaveLength(1);

    const reply = await fetch(`${server.url}/api/admin/cron-jobs/demo-slow/history`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { job: { monitoring: { settings: Record<string, unknown>; open: Array<Record<string, unknown>> } } };
    expect(body.job.monitoring.settings).toMatchObject({
      lateAfterMs: 60_000,
      lateAfterFrom: "plan",
      maxRuntimeMs: 4_000,
      timeoutMs: 5_000,
      thresholds: {
        failure_rate: { effective: { abovePercent: 10, windowMs: 3_600_000, minRuns: 10 }, envDefault: { abovePercent: 10 } },
        timeout_rate: { effective: { abovePercent: 5 } },
        lock_contention: { effective: { abovePercent: 70 } },
      },
    });
    expect(body.job.monitoring.open).toEqual([expect.objectContaining({ kind: "failure_rate", value: 25, alertedAt: expect.any(String) })]);
    await pool.query(`DELETE FROM cron_job_logs WHERE id = $1`, [longRun]);
  });
});
