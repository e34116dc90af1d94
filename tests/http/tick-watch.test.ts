import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { WebhookPayload } from "@/lib/alerts/webhook";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { rawRequest, type RawReply } from "../support/http";
import { startNextServer, type NextServer } from "../support/next-server";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { startSmtpRecorder, type SmtpRecorder } from "../support/smtp-recorder";

/**
 * The tick watched from outside, over real HTTP: `next start` on a database of the Postgres
 * server (the test moves the tick's last run back in time there instead of waiting), with the
 * demo jobs (the tick dispatches demo-pulse every minute, to NEXT_PUBLIC_APP_URL: a recorder
 * here, which can refuse it so the tick's report has errors). Slack, the webhook and e-mail are
 * local recorders; so is the dead-man URL, standing in for Healthchecks.io.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const PING_ID = randomUUID();
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CRON = { authorization: `Bearer ${CRON_SECRET}` };

describeWithPostgres("the tick watched from outside (next start)", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  let slack: RecordingServer;
  let webhook: RecordingServer;
  let healthchecks: RecordingServer;
  let deployment: RecordingServer;
  let smtp: SmtpRecorder;
  let deploymentStatus = 200;
  let cookie = "";

  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<RawReply> =>
    rawRequest(server.url, method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const tickStatus = async (query = "") => {
    const r = await call("GET", `/api/admin/tick${query}`, ADMIN);
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  const webhookKinds = () => webhook.requests.map((r) => (r.json as WebhookPayload).kind);
  /**
   * The watch's own alerts (job crondeck-tick). The demo jobs' alerts are not the watch's: a tick
   * whose window holds a slot of a job nobody triggered here (a Vercel-dispatched demo job at :00,
   * :05...) may add a `late` alert for it, depending on the minute the test runs in.
   */
  const tickAlerts = () => webhook.requests.map((r) => r.json as WebhookPayload).filter((p) => p.jobName === "crondeck-tick");

  beforeAll(async () => {
    [slack, webhook, healthchecks, smtp] = await Promise.all([startRecordingServer(), startRecordingServer(), startRecordingServer(), startSmtpRecorder()]);
    deployment = await startRecordingServer({ status: () => deploymentStatus, responseBody: () => (deploymentStatus === 200 ? '{"success":true}' : "<!doctype html><title>Authentication Required</title>") });
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    server = await startNextServer({
      env: {
        DATABASE_URL: database.url,
        ADMIN_TOKEN,
        CRON_SECRET,
        CRON_PLAN: "pro",
        CRON_DEMO: "1",
        NEXT_PUBLIC_APP_URL: deployment.url,
        TICK_HEARTBEAT_URL: `${healthchecks.url}/ping/${PING_ID}`,
        SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/tick-watch-slack-token`,
        ALERT_WEBHOOK_URL: `${webhook.url}/hooks/crondeck`,
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        ALERT_EMAIL_TO: "ops@example.com",
      },
    });
    const login = await call("POST", "/api/admin/session", { origin: server.url, "content-type": "application/json" }, { token: ADMIN_TOKEN });
    expect(login.status, login.text).toBe(200);
    cookie = login.setCookie[0].split(";")[0];
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
    await Promise.all([slack?.close(), webhook?.close(), healthchecks?.close(), deployment?.close(), smtp?.close()]);
  });

  it("GET /api/admin/tick refuses without admin auth (401 JSON) and names a bad parameter (400)", async () => {
    const refused = await call("GET", "/api/admin/tick");
    expect(refused.status).toBe(401);
    expect(refused.contentType).toContain("application/json");
    expect(refused.body).toMatchObject({ success: false });
    const bad = await call("GET", "/api/admin/tick?limit=0", ADMIN);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("limit");
    const badBefore = await call("GET", "/api/admin/tick?before=yesterday", ADMIN);
    expect(badBefore.status).toBe(400);
    expect(badBefore.text).toContain("before");
    const fresh = await tickStatus();
    expect(fresh).toMatchObject({ success: true, plan: "pro", health: { state: "never", late: false, lastRun: null, incident: null }, runs: [] });
  });

  it("a tick run pings the dead-man URL and shows with its report in the API and /api/health", async () => {
    const tick = await call("POST", "/api/cron/tick", CRON);
    expect(tick.status, tick.text).toBe(200);
    const [ping] = await healthchecks.waitForRequests(1);
    expect(ping).toMatchObject({ method: "POST", path: `/ping/${PING_ID}` });
    expect(ping.body).toMatch(/^crondeck tick: abandoned=\d+ retries=\d+ orphaned=\d+ missed=\d+ dispatched=[1-9]\d* errors=0$/);

    const status = await tickStatus();
    expect(status.health).toMatchObject({ state: "ok", late: false, expectedEveryMs: 60_000, lateAfterMs: 120_000, lastRun: { status: "completed", work: { errors: 0 } } });
    expect(status.health.lastRun.work.dispatched).toBeGreaterThan(0);
    expect(status.runs).toHaveLength(1);
    expect(status.runs[0].report.dispatched).toEqual(expect.arrayContaining([expect.objectContaining({ jobName: "demo-pulse", trigger: "tick", status: 200 })]));
    const health = await call("GET", "/api/health");
    expect(health.status).toBe(200);
    expect(health.body.tick).toMatchObject({ state: "ok", late: false, expectedEveryMs: 60_000 });
    expect(webhook.requests).toHaveLength(0);
  });

  it("the tick stops: the API, /api/health and the dashboard show it late past two intervals; tick_late alerts once on each channel", async () => {
    // Three minutes without a tick run: its last run moved back (slot and dedupe key too, so the next delivery is not a duplicate).
    await pool.query(`UPDATE cron_job_logs SET started_at = started_at - interval '3 minutes', completed_at = completed_at - interval '3 minutes',
                        scheduled_for = scheduled_for - interval '3 minutes', dedupe_key = dedupe_key || ':moved' WHERE job_name = 'crondeck-tick'`);
    const late = await tickStatus();
    expect(late.health).toMatchObject({ state: "late", late: true, incident: { incidentId: expect.any(String) } });
    expect(late.health.lagMs).toBeGreaterThan(120_000);
    await Promise.all([slack.waitForRequests(1), webhook.waitForRequests(1), waitFor(() => smtp.mails.length >= 1)]);
    expect(webhookKinds()).toEqual(["tick_late"]);
    expect((webhook.requests[0].json as WebhookPayload).jobName).toBe("crondeck-tick");
    expect(String((slack.requests[0].json as { text: string }).text)).toContain("crondeck-tick has not run on schedule");

    // Every other place sees it too, and none of them alerts again.
    const health = await call("GET", "/api/health");
    expect(health.status).toBe(200);
    expect(health.body.tick).toMatchObject({ state: "late", late: true });
    expect((await tickStatus()).health.incident.incidentId).toBe(late.health.incident.incidentId);
    const page = await call("GET", "/dashboard/admin/tick", { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain("LATE");
    expect(page.text).toContain("Tick runs");
    expect(page.text).toContain("demo-pulse");
    // Signed out, the page shows none of it (it sends the browser to the login page).
    const signedOut = await call("GET", "/dashboard/admin/tick");
    expect(signedOut.text).not.toContain("Tick runs");
    expect(signedOut.text).not.toContain(late.health.lastRun.id);
    expect(slack.requests).toHaveLength(1);
    expect(webhook.requests).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    // The dead-man URL heard nothing since: that is what makes Healthchecks alert when the app is down.
    expect(healthchecks.requests).toHaveLength(1);
  });

  it("the tick runs again with errors in its report: <url>/fail is pinged, the watch closes with one recovered alert per channel", async () => {
    deploymentStatus = 401;
    const tick = await call("POST", "/api/cron/tick", CRON);
    expect(tick.status, tick.text).toBe(200);
    const pings = await healthchecks.waitForRequests(2);
    expect(pings[1]).toMatchObject({ method: "POST", path: `/ping/${PING_ID}/fail` });
    expect(pings[1].body).toMatch(/errors=[1-9]/);
    // The refused dispatch is alerted as the tick's failure (lib/app/tick.ts); the watch's own alerts are one tick_late and one recovered.
    await waitFor(() => webhookKinds().includes("recovered") && slack.requests.length >= 3 && smtp.mails.length >= 3);
    expect(tickAlerts().map((p) => p.kind).filter((k) => k !== "failure")).toEqual(["tick_late", "recovered"]);
    const recovered = webhook.requests.map((r) => r.json as WebhookPayload).find((p) => p.kind === "recovered")!;
    expect(recovered).toMatchObject({ jobName: "crondeck-tick", detail: { monitor: "tick_late" } });
    expect(slack.requests.map((r) => String((r.json as { text: string }).text)).filter((t) => t.includes("recovered"))).toHaveLength(1);

    const status = await tickStatus();
    expect(status.health).toMatchObject({ state: "ok", late: false, incident: null, runsWithErrors24h: 1 });
    expect(status.runs[0].work.errors).toBeGreaterThan(0);
    expect(status.runs[0].report.errors[0].scope).toBe("dispatch");
    // No second recovery, and the secret URL never reached the log.
    const sent = tickAlerts().length;
    await tickStatus();
    expect(tickAlerts()).toHaveLength(sent);
    expect(server.output()).not.toContain(PING_ID);
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
