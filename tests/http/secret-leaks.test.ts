import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { standardWebhookSecret } from "@/lib/alerts/webhook-secret";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { rawRequest } from "../support/http";
import { startNextServer, type NextServer } from "../support/next-server";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver";
import { startSentryRecorder, type SentryRecorder } from "../support/sentry-recorder";
import { decodeMail, startSmtpRecorder, type SmtpRecorder } from "../support/smtp-recorder";
import { startUpstashRestServer, type UpstashRestServer } from "../support/upstash-rest";

/**
 * No configured secret reaches any sink. `next start` gets a distinct, recognisable secret in
 * every secret-bearing variable, and jobs (lib/jobs/leak-jobs.ts) that put all of them in their
 * log messages, log data (values and keys), output, thrown errors and stacks, and fail until
 * dead-lettered and paused so every alert goes out; the built-in health-check job gets URLs
 * with credentials and an api_key. Then every sink is read: the API's and the dashboard's
 * responses (the Prometheus scrape among them), the server's output, every row of every table,
 * every Sentry envelope item, Slack post, e-mail and webhook delivery, every OTLP span export,
 * the tick's dead-man pings, and the CLI's output on the same database. None may carry any
 * secret, raw or percent-encoded.
 *
 * Not sinks: what a service is given to authenticate (the SMTP login, the Upstash bearer
 * token, the Sentry key in the envelope header and the request URL, a webhook's own URL path,
 * the OTLP collector's headers, the dead-man URL's own path).
 */


const tag = randomBytes(4).toString("hex");
const S = {
  cronSecret: `cronSecret-${tag}-A1a1a1a1`,
  cronPrevious: `cronPrevious-${tag}-B2b2b2b2`,
  adminToken: `adminToken-${tag}-C3c3c3c3`,
  webhookSecret: `webhookSigning-${tag}-D4d4d4d4`,
  dbPassword: `dbPass-${tag}-E5e5e5e5`,
  smtpPassword: `smtpPass-${tag}-F6f6f6f6`,
  slackToken: `slackToken${tag}G7g7g7g7`,
  slackQuery: `slackQuery${tag}H8h8`,
  webhookPath: `alertPath${tag}I9i9i9i9`,
  webhookQuery: `alertQuery${tag}J0j0`,
  sentryKey: `sentryKey${tag}K1k1`,
  upstashToken: `upstashToken-${tag}-L2l2l2l2`,
  kvToken: `kvToken-${tag}-M3m3m3m3`,
  healthPassword: `hcPass-${tag}-N4n4n4n4`,
  healthKey: `hcKey${tag}O5o5o5o5`,
  healthToken: `hcToken${tag}P6p6p6p6`,
  metricsToken: `metricsToken-${tag}-R7r7r7r7`,
  heartbeatPath: `heartbeat${tag}S8s8s8s8`,
  otlpKey: `otlpKey-${tag}-T9t9t9t9`,
};
const SLACK_PATH = `/services/T${tag}/B0LEAK/${S.slackToken}`;

interface Sink {
  /** response, server output, stored row, Sentry, Slack, e-mail, webhook, CLI */
  kind: string;
  name: string;
  text: string;
}

describeWithPostgres("secrets in every sink", () => {
  let database: TestDatabase;
  let role: string;
  let databaseUrl: string;
  let server: NextServer;
  let sentry: SentryRecorder;
  let slack: RecordingServer;
  let hook: RecordingServer;
  let smtp: SmtpRecorder;
  let upstash: UpstashRestServer;
  let health: Server;
  let otlp: OtlpReceiver;
  let heartbeat: RecordingServer;
  let env: Record<string, string>;
  const sinks: Sink[] = [];
  const responses: Sink[] = [];
  let cookie = "";

  const adminUrl = () => process.env.TEST_DATABASE_URL!;
  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const reply = await rawRequest(server.url, method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
    responses.push({ kind: path.startsWith("/dashboard") ? "page" : "API response", name: `${method} ${path} (${reply.status})`, text: `${JSON.stringify(reply.headers)}\n${reply.text}` });
    return reply;
  };
  const cron = (secret = S.cronSecret) => ({ authorization: `Bearer ${secret}` });

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    // The app connects as a role whose password is in DATABASE_URL (the server trusts every
    // login, so the password is carried, as in production, but never checked).
    role = `leak_${tag}`;
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${S.dbPassword}'`);
    await admin.end();
    const url = new URL(database.url!);
    url.username = role;
    url.password = S.dbPassword;
    databaseUrl = url.toString();

    sentry = await startSentryRecorder();
    slack = await startRecordingServer();
    hook = await startRecordingServer();
    smtp = await startSmtpRecorder();
    upstash = await startUpstashRestServer({ token: S.upstashToken });
    otlp = await startOtlpReceiver();
    heartbeat = await startRecordingServer();
    // HEALTHCHECK_URLS' targets: one fails (503), one answers.
    health = createServer((req, res) => res.writeHead(req.url?.startsWith("/down") ? 503 : 200).end("ok"));
    await new Promise<void>((resolve) => health.listen(0, "127.0.0.1", resolve));
    const healthBase = `127.0.0.1:${(health.address() as AddressInfo).port}`;

    env = {
      DATABASE_URL: databaseUrl,
      CRON_SECRET: S.cronSecret,
      CRON_SECRET_PREVIOUS: S.cronPrevious,
      ADMIN_TOKEN: S.adminToken,
      ALERT_WEBHOOK_SECRET: S.webhookSecret,
      ALERT_WEBHOOK_URL: `${hook.url}/hooks/${S.webhookPath}?sig=${S.webhookQuery}`,
      SLACK_WEBHOOK_URL: `${slack.url}${SLACK_PATH}?channel=${S.slackQuery}`,
      SMTP_URL: smtp.url("alerts@example.com", S.smtpPassword),
      ALERT_EMAIL_TO: "ops@example.com",
      ALERT_EMAIL_FROM: "Crondeck <cron@example.com>",
      SENTRY_DSN: sentry.dsn.replace("//public@", `//${S.sentryKey}@`),
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: S.upstashToken,
      KV_REST_API_URL: upstash.url,
      KV_REST_API_TOKEN: S.kvToken,
      HEALTHCHECK_URLS: `http://probe:${S.healthPassword}@${healthBase}/down?api_key=${S.healthKey},http://${healthBase}/up?token=${S.healthToken}`,
      METRICS_TOKEN: S.metricsToken,
      TICK_HEARTBEAT_URL: `${heartbeat.url}/ping/${S.heartbeatPath}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${S.otlpKey}`,
      CRONDECK_FAULT_JOBS: "1",
      NEXT_PUBLIC_APP_URL: "http://crondeck.test",
    };
    server = await startNextServer({ env: { ...env, CRONDECK_FAULT_LEDGER_URL: undefined, SENTRY_ENVIRONMENT: undefined } });

    // Everything the jobs can leak, through every trigger path.
    const out = await call("POST", "/api/cron/execute/leak-output", cron());
    expect(out.status, out.text).toBe(200);
    const previous = await call("POST", "/api/cron/execute/leak-output", cron(S.cronPrevious));
    expect(previous.status, previous.text).toBe(200);
    // A scheduled slot (a manual run does not count toward the auto-pause).
    const slot = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000).toISOString();
    const failed = await call("POST", `/api/cron/execute/leak-failure?trigger=tick&slot=${slot}`, cron());
    expect(failed.status, failed.text).toBe(500);
    expect(failed.body.execution.status).toBe("failed");
    const checked = await call("POST", "/api/cron/execute/health-check", cron());
    expect(checked.status, checked.text).toBe(500);
    // The tick (its dead-man ping) and the run spans its runs and the ones above exported.
    const tick = await call("POST", "/api/cron/tick", cron());
    expect(tick.status, tick.text).toBe(200);
    await heartbeat.waitForRequests(1, 15_000);
    await otlp.waitFor((spans) => spans.some((s) => s.attributes["crondeck.job"] === "leak-failure" && s.name === "crondeck.run"), 15_000);

    // Every alert of the failure: failure, dead letter, auto-pause, on each channel.
    await slack.waitForRequests(3, 15_000);
    await hook.waitForRequests(3, 15_000);
    for (let i = 0; i < 150 && smtp.mails.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    expect(smtp.mails.length).toBeGreaterThanOrEqual(3);
    await sentry.waitFor((r) => r.events().some((e) => e.tags?.job_name === "leak-failure"), 10_000);

    // The admin API and the dashboard, signed in with the admin token.
    const login = await call("POST", "/api/admin/session", { origin: server.url, "content-type": "application/json" }, { token: S.adminToken });
    expect(login.status, login.text).toBe(200);
    cookie = login.setCookie[0].split(";")[0];
    const bearer = { authorization: `Bearer ${S.adminToken}` };
    const jobs = await call("GET", "/api/admin/cron-jobs", bearer);
    expect(jobs.status, jobs.text).toBe(200);
    const runIds = [out.body.execution?.id ?? out.body.runId, failed.body.execution?.id ?? failed.body.runId, checked.body.execution?.id ?? checked.body.runId].filter(Boolean);
    expect(runIds).toHaveLength(3);
    for (const id of runIds) expect((await call("GET", `/api/admin/runs/${id}`, bearer)).status).toBe(200);
    for (const job of ["leak-output", "leak-failure", "health-check"]) await call("GET", `/api/admin/cron-jobs/${job}/history?limit=50&days=30`, bearer);
    await call("GET", "/api/admin/dead-letter-queue?limit=50", bearer);
    await call("GET", "/api/admin/statistics", bearer);
    await call("GET", "/api/admin/locks", bearer);
    await call("GET", "/api/cron/jobs", cron());
    await call("GET", "/api/cron/jobs/leak-failure", cron());
    await call("GET", "/api/health");
    const metrics = await call("GET", "/api/metrics", { authorization: `Bearer ${S.metricsToken}` });
    expect(metrics.status, metrics.text.slice(0, 300)).toBe(200);
    expect(metrics.text).toContain('crondeck_runs_total{job="leak-failure"');
    const pages = ["/dashboard/admin/cron-jobs", "/dashboard/admin/dead-letters", "/dashboard/admin/audit", "/dashboard/admin/locks"];
    for (const id of runIds) pages.push(`/dashboard/admin/cron-jobs/leak-failure?run=${id}`, `/dashboard/admin/cron-jobs/leak-output?run=${id}`, `/dashboard/admin/cron-jobs/health-check?run=${id}`);
    for (const page of pages) {
      const reply = await call("GET", page, { cookie });
      expect(reply.status, `${page}: ${reply.text.slice(0, 300)}`).toBe(200);
    }
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    await Promise.all([sentry?.close(), slack?.close(), hook?.close(), smtp?.close(), upstash?.close(), otlp?.close(), heartbeat?.close(), new Promise((r) => (health ? health.close(r) : r(null)))]);
    await database?.dispose();
    if (role) {
      const admin = new pg.Client({ connectionString: adminUrl() });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await admin.end();
    }
  });

  it("finds no secret, raw or percent-encoded, in any response, log, row, alert or CLI output", async () => {
    // The CLI on the same database and environment: a run in the foreground, and the listings.
    const cliEnv = { ...env, NODE_ENV: "test", CRON_DEMO: "" };
    const cliRuns = [
      ["jobs", "run", "leak-output", "--json"],
      ["jobs", "run", "leak-output"],
      ["jobs", "list", "--json"],
      ["jobs", "list"],
      ["dlq", "list", "--json"],
      ["dlq", "list"],
      ["doctor", "--json"],
      ["locks", "stats"],
    ];
    for (const args of cliRuns) {
      const result = await runCli(args, { env: cliEnv });
      expect(result.code === 0 || args[0] === "doctor", `crondeck ${args.join(" ")}: ${result.stderr}${result.stdout}`.slice(0, 1_000)).toBe(true);
      sinks.push({ kind: "CLI output", name: `crondeck ${args.join(" ")} (stdout+stderr)`, text: result.stdout + result.stderr });
    }

    sinks.push(...responses);
    sinks.push({ kind: "server output", name: "server stdout/stderr", text: server.output() });

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows: tables } = await client.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`);
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["cron_job_logs", "cron_dead_letters", "cron_alerts", "cron_job_config"]));
      for (const { name } of tables) {
        const { rows } = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${name}" t`);
        sinks.push({ kind: "stored row", name: `table ${name} (${rows.length} rows)`, text: rows.map((r) => r.row).join("\n") });
      }
      const { rows: stored } = await client.query(`SELECT count(*)::int AS n FROM cron_job_logs WHERE job_name IN ('leak-output', 'leak-failure', 'health-check')`);
      expect(stored[0].n).toBeGreaterThanOrEqual(5);
    } finally {
      await client.end();
    }

    // Sentry: every item of every envelope (the envelope header carries the DSN by design).
    const envelopes = sentry.envelopes();
    expect(envelopes.length).toBeGreaterThan(0);
    envelopes.forEach((e, i) => sinks.push({ kind: "Sentry", name: `Sentry envelope ${i} items`, text: JSON.stringify(e.items) }));
    slack.requests.forEach((r, i) => sinks.push({ kind: "Slack", name: `Slack post ${i}`, text: `${JSON.stringify(r.headers)}\n${r.body}` }));
    hook.requests.forEach((r, i) => sinks.push({ kind: "webhook", name: `webhook delivery ${i}`, text: `${JSON.stringify(r.headers)}\n${r.body}` }));
    smtp.mails.forEach((m, i) => sinks.push({ kind: "e-mail", name: `e-mail ${i}`, text: `${m.raw}\n${decodeMail(m.raw)}` }));
    // Spans: every export's body (its headers carry the collector's key by design).
    expect(otlp.spans().length).toBeGreaterThan(0);
    otlp.requests().forEach((r, i) => sinks.push({ kind: "OTLP", name: `OTLP export ${i}`, text: r.body }));
    heartbeat.requests.forEach((r, i) => sinks.push({ kind: "dead-man ping", name: `heartbeat ping ${i}`, text: `${JSON.stringify(r.headers)}\n${r.body}` }));

    // The jobs did spill every secret: the sinks would hold them if nothing removed them.
    const secrets = Object.entries(S).flatMap(([name, value]) => [
      { name, value },
      { name: `${name} (encoded)`, value: encodeURIComponent(value) },
    ]);
    secrets.push({ name: "slackPath", value: SLACK_PATH }, { name: "slackPath (encoded)", value: encodeURIComponent(SLACK_PATH) });
    // The signing secret as the webhook's receiver holds it (Standard Webhooks' whsec_<base64>).
    const standard = standardWebhookSecret(S.webhookSecret);
    secrets.push({ name: "webhookSecret (whsec_)", value: standard }, { name: "webhookSecret (base64)", value: standard.slice("whsec_".length) });

    const found: string[] = [];
    const byKind = new Map<string, { sinks: number; checks: number; found: number }>();
    let checks = 0;
    for (const sink of sinks) {
      const tally = byKind.get(sink.kind) ?? { sinks: 0, checks: 0, found: 0 };
      byKind.set(sink.kind, tally);
      tally.sinks++;
      for (const secret of secrets) {
        checks++;
        tally.checks++;
        const at = sink.text.indexOf(secret.value);
        if (at >= 0) {
          tally.found++;
          found.push(`${secret.name} in ${sink.name}: …${sink.text.slice(Math.max(0, at - 80), at + secret.value.length + 40)}…`);
        }
      }
    }
    console.log(`secret-leaks: ${checks} (secret x sink) checks: ${secrets.length} secret forms x ${sinks.length} sinks; ${found.length} found`);
    for (const [kind, t] of byKind) console.log(`  ${kind}: ${t.sinks} sinks, ${t.checks} checks, ${t.found} found`);
    const leaked = new Set(found.map((f) => f.slice(0, f.indexOf(" in ")).replace(" (encoded)", "")));
    if (leaked.size) console.log(`  secrets found somewhere: ${[...leaked].join(", ")}`);
    expect(found, found.slice(0, 40).join("\n\n")).toEqual([]);
    // Not vacuous: the sinks did receive the runs, their errors and their alerts.
    const all = sinks.map((s) => s.text).join("\n");
    expect(all).toContain("[redacted]");
    expect(all).toContain("leak-failure");
  });
});
