import { createHmac, randomBytes, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { alertChannelsFromEnv } from "@/lib/alerts/channels";
import { AlertDispatcher } from "@/lib/alerts/dispatcher";
import { EmailChannel } from "@/lib/alerts/email";
import { formatAlertSubject, formatAlertText } from "@/lib/alerts/format";
import { redactAlertError } from "@/lib/alerts/redact";
import { SlackChannel } from "@/lib/alerts/slack";
import type { AlertChannel, AlertEvent, AlertKind, AlertRouting } from "@/lib/alerts/types";
import { WebhookChannel, type WebhookPayload } from "@/lib/alerts/webhook";
import { defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps } from "@/lib/cron/run-job";
import type { Db } from "@/lib/db/client";
import { queryRows } from "@/lib/db/client";
import { recoverJob } from "@/lib/db/commands/jobs";
import { PostgresRunStore } from "@/lib/db/run-store";
import { parseEnv } from "@/lib/env";
import { createObservers } from "@/lib/app/observers";
import { describeOnDatabases } from "../support/db";
import { Webhook } from "standardwebhooks";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { startSmtpRecorder } from "../support/smtp-recorder";
import { alertEvent, RUN_ID } from "../support/alert-event";

/**
 * Every channel talks to a real local server: node:http for Slack and the webhook, smtp-server
 * for e-mail. The dispatcher's rate limit runs on PGlite and the Postgres server, with an
 * injected clock for the window (no sleeping); timeouts are real but short (300 ms).
 */

const SLACK_TOKEN_PATH = "/services/T0CRONDK/B0ALERTS/xQ9secretSlackTokenZ";
const WEBHOOK_SECRET = "whsec_0123456789abcdef0123456789abcdef";
const SMTP_PASSWORD = "smtp-pa55word-very-secret";
const SHORT_TIMEOUT_MS = 300;

const routing = (overrides: Partial<AlertRouting> = {}): AlertRouting => ({ slackWebhook: null, email: [], reAlertAfterMs: 60_000, ...overrides });

// ---------------------------------------------------------------------------------------------
// A real SMTP server (smtp-server, tests/support/smtp-recorder.ts) that keeps every message it accepts.

interface ReceivedMail {
  from: string;
  to: string[];
  headers: Record<string, string>;
  text: string;
  user: string | undefined;
}

interface MailSink {
  port: number;
  url(user?: string, pass?: string): string;
  messages: ReceivedMail[];
  close(): Promise<void>;
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? "7bit").toLowerCase()) {
    case "quoted-printable":
      return Buffer.from(
        body.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        "latin1",
      ).toString("utf8");
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    default:
      return body;
  }
}

function parseMail(raw: string): { headers: Record<string, string>; text: string } {
  const split = raw.indexOf("\r\n\r\n");
  const headerBlock = raw.slice(0, split).replace(/\r\n(?=[ \t])/g, "");
  const headers: Record<string, string> = {};
  for (const line of headerBlock.split("\r\n")) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, text: decodeBody(raw.slice(split + 4), headers["content-transfer-encoding"]).replace(/\r\n/g, "\n").trimEnd() };
}

async function startMailSink(options: { password?: string } = {}): Promise<MailSink> {
  const recorder = await startSmtpRecorder(options);
  return {
    port: recorder.port,
    url: (user, pass) => `smtp://${user ? `${encodeURIComponent(user)}:${encodeURIComponent(pass ?? "")}@` : ""}127.0.0.1:${recorder.port}`,
    get messages() {
      return recorder.mails.map(({ from, to, user, raw }) => ({ from, to, user, ...parseMail(raw) }));
    },
    close: () => recorder.close(),
  };
}

// ---------------------------------------------------------------------------------------------

const servers: Array<{ close(): Promise<void> }> = [];
async function recordingServer(...args: Parameters<typeof startRecordingServer>): Promise<RecordingServer> {
  const server = await startRecordingServer(...args);
  servers.push(server);
  return server;
}
async function mailSink(...args: Parameters<typeof startMailSink>): Promise<MailSink> {
  const sink = await startMailSink(...args);
  servers.push(sink);
  return sink;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("alert message", () => {
  it("names the job, what happened, the run, the failures, the error, the time and the link", () => {
    const text = formatAlertText(alertEvent());
    expect(text).toContain("health-check failed 3 times in a row");
    expect(text).toContain(`Run: ${RUN_ID}`);
    expect(text).toContain("Consecutive failures: 3");
    expect(text).toContain("Error: connect ECONNREFUSED 10.0.0.7:5432");
    expect(text).toContain("Time: 2026-03-01T09:55:04.250Z");
    expect(text).toContain("Slot: 2026-03-01T09:55:00.000Z");
    expect(text).toContain("Attempts: 2");
    expect(text).toContain(`Open in Crondeck: https://crondeck.example.com/runs/${RUN_ID}`);
    expect(formatAlertSubject(alertEvent())).toBe("[Crondeck] health-check failed 3 times in a row");
  });

  it("words each kind, and leaves out what is unknown", () => {
    const missed = formatAlertText(alertEvent({ kind: "missed", runId: null, url: null, error: null, consecutiveFailures: 0, detail: { missedSlots: 2 } }));
    expect(missed).toContain("health-check missed its 2026-03-01T09:55:00.000Z slot");
    expect(missed).toContain("Missed slots: 2");
    expect(missed).not.toContain("Run:");
    expect(missed).not.toContain("Error:");
    expect(missed).not.toContain("Open in Crondeck");
    expect(formatAlertText(alertEvent({ kind: "recovered", consecutiveFailures: 4, error: null }))).toContain("health-check recovered after 4 failures in a row");
    expect(formatAlertText(alertEvent({ kind: "dead_letter" }))).toContain("health-check was moved to the dead-letter queue");
    expect(formatAlertText(alertEvent({ kind: "auto_paused" }))).toContain("health-check was paused automatically");
    expect(formatAlertText(alertEvent({ consecutiveFailures: 1 }))).toContain("health-check failed\n");
  });
});

describe("Slack channel", () => {
  it("posts text and blocks naming the job, run, failures, error and link", async () => {
    const slack = await recordingServer();
    await new SlackChannel({ webhookUrl: `${slack.url}${SLACK_TOKEN_PATH}` }).send(alertEvent({ error: "expected <ok> & got 500" }), routing());
    expect(slack.requests).toHaveLength(1);
    const [req] = slack.requests;
    expect(req.method).toBe("POST");
    expect(req.path).toBe(SLACK_TOKEN_PATH);
    expect(req.headers["content-type"]).toBe("application/json");
    const body = req.json as { text: string; blocks: Array<Record<string, any>> };
    expect(body.text).toContain("health-check failed 3 times in a row");
    expect(body.text).toContain(RUN_ID);
    expect(body.text).toContain("Consecutive failures: 3");
    // Slack's mrkdwn escaping
    expect(body.text).toContain("expected &lt;ok&gt; &amp; got 500");
    expect(body.text).toContain(`https://crondeck.example.com/runs/${RUN_ID}`);
    expect(body.blocks[0]).toEqual({ type: "header", text: { type: "plain_text", text: "health-check failed 3 times in a row", emoji: false } });
    const fields = body.blocks[1].fields.map((f: { text: string }) => f.text);
    expect(fields).toContain("*Job*\nhealth-check");
    expect(fields).toContain(`*Run*\n${RUN_ID}`);
    expect(fields).toContain("*Consecutive failures*\n3");
    const actions = body.blocks.find((b) => b.type === "actions");
    expect(actions?.elements[0]).toMatchObject({ type: "button", url: `https://crondeck.example.com/runs/${RUN_ID}` });
  });

  it("sends to the app-wide and the job's webhook, once when they are the same", async () => {
    const slack = await recordingServer();
    const channel = new SlackChannel({ webhookUrl: `${slack.url}/app` });
    await channel.send(alertEvent(), routing({ slackWebhook: `${slack.url}/job` }));
    expect(slack.requests.map((r) => r.path).sort()).toEqual(["/app", "/job"]);
    await channel.send(alertEvent(), routing({ slackWebhook: `${slack.url}/app` }));
    expect(slack.requests).toHaveLength(3);

    const jobOnly = new SlackChannel({ webhookUrl: null });
    expect(jobOnly.appliesTo(routing())).toBe(false);
    expect(jobOnly.appliesTo(routing({ slackWebhook: `${slack.url}/job` }))).toBe(true);
  });

  it("fails on a non-2xx answer and on a redirect, naming the webhook but not its URL", async () => {
    const slack = await recordingServer({ status: (r) => (r.path === "/moved" ? 302 : 500), responseBody: "no_service" });
    const error = await new SlackChannel({ webhookUrl: `${slack.url}${SLACK_TOKEN_PATH}` }).send(alertEvent(), routing()).catch((e: Error) => e);
    expect((error as Error).message).toBe(`app-wide Slack webhook: HTTP 500 from ${new URL(slack.url).host}: no_service`);
    await expect(new SlackChannel({ webhookUrl: `${slack.url}/moved` }).send(alertEvent(), routing())).rejects.toThrow(/HTTP 302/);
  });
});

describe("webhook channel", () => {
  it("posts the event as JSON signed as Standard Webhooks specifies: a receiver's standardwebhooks library verifies it", async () => {
    const hook = await recordingServer();
    const now = new Date();
    await new WebhookChannel({ url: `${hook.url}/hooks/crondeck`, secret: WEBHOOK_SECRET, now: () => now }).send(alertEvent());
    expect(hook.requests).toHaveLength(1);
    const [req] = hook.requests;
    const expected: WebhookPayload = {
      kind: "failure",
      jobName: "health-check",
      category: "monitoring",
      runId: RUN_ID,
      scheduledFor: "2026-03-01T09:55:00.000Z",
      consecutiveFailures: 3,
      error: "connect ECONNREFUSED 10.0.0.7:5432",
      at: "2026-03-01T09:55:04.250Z",
      url: `https://crondeck.example.com/runs/${RUN_ID}`,
      detail: { attempts: 2, trigger: "schedule" },
    };
    expect(req.json).toEqual(expected);
    expect(Object.keys(req.json as object)).toEqual(["kind", "jobName", "category", "runId", "scheduledFor", "consecutiveFailures", "error", "at", "url", "detail"]);
    // What a receiver does: the library, the whsec_ secret, the raw body and the three headers.
    expect(new Webhook(WEBHOOK_SECRET).verify(req.raw, req.headers as Record<string, string>)).toEqual(expected);
    expect(req.headers["webhook-id"]).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
    expect(req.headers["webhook-timestamp"]).toBe(String(Math.floor(now.getTime() / 1000)));
    // The documented construction, by hand: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> keyed with the base64-decoded secret.
    const key = Buffer.from(WEBHOOK_SECRET.slice("whsec_".length), "base64");
    const mac = createHmac("sha256", key).update(`${req.headers["webhook-id"]}.${req.headers["webhook-timestamp"]}.${req.raw}`).digest("base64");
    expect(req.headers["webhook-signature"]).toBe(`v1,${mac}`);
    // The old body-only signature is gone: a receiver still checking it fails closed instead of accepting replays.
    expect(req.headers["x-crondeck-signature"]).toBeUndefined();
  });

  it("sends unsigned without a secret", async () => {
    const hook = await recordingServer();
    await new WebhookChannel({ url: hook.url, secret: null }).send(alertEvent({ detail: undefined }));
    expect(hook.requests[0].headers["webhook-signature"]).toBeUndefined();
    expect(hook.requests[0].headers["webhook-id"]).toMatch(/^msg_/);
    expect((hook.requests[0].json as WebhookPayload).detail).toEqual({});
  });

  it("gives up on a server that does not answer within the timeout", async () => {
    const hook = await recordingServer({ delayMs: 10_000 });
    const started = Date.now();
    await expect(new WebhookChannel({ url: hook.url, secret: null, timeoutMs: SHORT_TIMEOUT_MS }).send(alertEvent())).rejects.toThrow(
      `alert webhook: no answer from ${new URL(hook.url).host} within ${SHORT_TIMEOUT_MS} ms`,
    );
    expect(Date.now() - started).toBeLessThan(SHORT_TIMEOUT_MS + 700);
  });

  it("says when nothing listens", async () => {
    const hook = await startRecordingServer();
    await hook.close();
    await expect(new WebhookChannel({ url: hook.url, secret: null }).send(alertEvent())).rejects.toThrow(/could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});

describe("e-mail channel", () => {
  it("sends the subject and the message to the app-wide and the job's recipients over SMTP", async () => {
    const sink = await mailSink({ password: SMTP_PASSWORD });
    const channel = new EmailChannel({
      smtpUrl: sink.url("alerts@example.com", SMTP_PASSWORD),
      from: "Crondeck <cron@example.com>",
      to: ["ops@example.com", "oncall@example.com"],
    });
    await channel.send(alertEvent(), routing({ email: ["owner@example.com", "OPS@example.com"] }));
    expect(sink.messages).toHaveLength(1);
    const [mail] = sink.messages;
    expect(mail.user).toBe("alerts@example.com");
    expect(mail.from).toBe("cron@example.com");
    expect(mail.to).toEqual(["ops@example.com", "oncall@example.com", "owner@example.com"]);
    expect(mail.headers.subject).toBe("[Crondeck] health-check failed 3 times in a row");
    expect(mail.headers.to).toBe("ops@example.com, oncall@example.com, owner@example.com");
    expect(mail.text).toBe(formatAlertText(alertEvent()));
  });

  it("applies only when someone is to receive it", () => {
    const channel = new EmailChannel({ smtpUrl: "smtp://127.0.0.1:2525", from: "cron@example.com", to: [] });
    expect(channel.appliesTo(routing())).toBe(false);
    expect(channel.appliesTo(routing({ email: ["owner@example.com"] }))).toBe(true);
  });

  it("fails without the password in the error when the server refuses the login", async () => {
    const sink = await mailSink({ password: "the-right-password" });
    const channel = new EmailChannel({ smtpUrl: sink.url("alerts", SMTP_PASSWORD), from: "cron@example.com", to: ["ops@example.com"] });
    const error = (await channel.send(alertEvent(), routing()).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/^SMTP server 127\.0\.0\.1:\d+: 535 /);
    expect(error.message).not.toContain(SMTP_PASSWORD);
    expect(sink.messages).toHaveLength(0);
  });

  it("gives up on a server that accepts the connection but never greets", async () => {
    const { createServer } = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    servers.push({
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => resolve());
        }),
    });
    const started = Date.now();
    const channel = new EmailChannel({ smtpUrl: `smtp://127.0.0.1:${port}`, from: "cron@example.com", to: ["ops@example.com"], timeoutMs: SHORT_TIMEOUT_MS });
    await expect(channel.send(alertEvent(), routing())).rejects.toThrow(/^SMTP server 127\.0\.0\.1:\d+: /);
    expect(Date.now() - started).toBeLessThan(SHORT_TIMEOUT_MS + 700);
  });
});

describe("alertChannelsFromEnv", () => {
  it("builds the channels the environment configures", () => {
    expect(alertChannelsFromEnv({}).map((c) => c.name)).toEqual(["slack"]);
    const all = alertChannelsFromEnv({
      SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/x",
      SMTP_URL: "smtps://alerts%40example.com:pw@smtp.example.com",
      ALERT_EMAIL_TO: " ops@example.com, ,oncall@example.com ",
      ALERT_WEBHOOK_URL: "https://example.com/hook",
      ALERT_WEBHOOK_SECRET: "",
    });
    expect(all.map((c) => c.name)).toEqual(["slack", "email", "webhook"]);
    const email = all[1] as EmailChannel;
    expect(email.recipients(routing())).toEqual(["ops@example.com", "oncall@example.com"]);
    expect(all.every((c) => c.appliesTo(routing()))).toBe(true);
  });

  it("rejects an SMTP_URL that is not smtp:// or smtps://", () => {
    expect(() => alertChannelsFromEnv({ SMTP_URL: "https://smtp.example.com" })).toThrow(/SMTP_URL must start with smtp:\/\/ or smtps:\/\//);
  });
});

describe("redactAlertError", () => {
  it("removes secret values, URL paths, URL passwords and Slack tokens", () => {
    const secretUrl = `https://hooks.slack.com${SLACK_TOKEN_PATH}`;
    const text = `failed ${secretUrl} (echo: ${SLACK_TOKEN_PATH}) via smtp://u:${SMTP_PASSWORD}@mail.example.com:587 token xoxb-1234-abcd and ${WEBHOOK_SECRET}`;
    const out = redactAlertError(text, [secretUrl, WEBHOOK_SECRET]);
    expect(out).not.toContain("xQ9secretSlackTokenZ");
    expect(out).not.toContain(SMTP_PASSWORD);
    expect(out).not.toContain("xoxb-1234");
    expect(out).not.toContain(WEBHOOK_SECRET);
    expect(out).toContain("mail.example.com");
  });
});

// ---------------------------------------------------------------------------------------------
// The dispatcher: rate limit, parallel delivery, outcomes recorded.

type AlertRow = { channel: string; status: string; error: string | null; message: string | null; kind: string; run_id: string | null };

describeOnDatabases("AlertDispatcher", (ctx) => {
  let n = 0;
  const freshJob = () => `job-${++n}-${randomBytes(3).toString("hex")}`;
  const alertRows = (job: string) =>
    queryRows<AlertRow>(ctx.db, sql`SELECT channel, status, error, message, kind, run_id FROM cron_alerts WHERE job_name = ${job} ORDER BY id`);

  let clock: Date;
  const now = () => clock;
  const logs: string[] = [];

  async function setup(options: { slackStatus?: number; webhookDelayMs?: number; timeoutMs?: number } = {}) {
    const slack = await recordingServer({ status: options.slackStatus ?? 200, responseBody: (r) => `invalid_token for ${r.path}` });
    const hook = await recordingServer({ delayMs: options.webhookDelayMs });
    const sink = await mailSink({ password: SMTP_PASSWORD });
    const timeoutMs = options.timeoutMs ?? 3_000;
    const channels: AlertChannel[] = [
      new SlackChannel({ webhookUrl: `${slack.url}${SLACK_TOKEN_PATH}`, timeoutMs }),
      new EmailChannel({ smtpUrl: sink.url("alerts", SMTP_PASSWORD), from: "cron@example.com", to: ["ops@example.com"], timeoutMs }),
      new WebhookChannel({ url: `${hook.url}/hooks/crondeck?token=hooktoken123456`, secret: WEBHOOK_SECRET, timeoutMs }),
    ];
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels, now, log: (m) => logs.push(m) });
    const sent = () => ({ slack: slack.requests.length, email: sink.messages.length, webhook: hook.requests.length });
    return { dispatcher, slack, hook, sink, sent };
  }

  beforeAll(() => {
    clock = new Date("2026-03-01T10:00:00.000Z");
  });

  it("delivers to every channel and records one sent row per channel with the message", async () => {
    const { dispatcher, sent } = await setup();
    const job = freshJob();
    const event = alertEvent({ jobName: job });
    expect(await dispatcher.notify(event, routing())).toEqual({ delivered: ["slack", "email", "webhook"], failed: [], suppressed: false });
    expect(sent()).toEqual({ slack: 1, email: 1, webhook: 1 });
    const rows = await alertRows(job);
    expect(rows.map((r) => [r.channel, r.status, r.error])).toEqual([
      ["slack", "sent", null],
      ["email", "sent", null],
      ["webhook", "sent", null],
    ]);
    expect(rows[0]).toMatchObject({ kind: "failure", run_id: RUN_ID, message: formatAlertText(event) });
  });

  it("suppresses a second alert for the same job and kind within the window, sends another kind, and sends again after the window", async () => {
    const { dispatcher, sent } = await setup();
    const job = freshJob();
    const r = routing({ reAlertAfterMs: 60 * 60_000 });
    expect((await dispatcher.notify(alertEvent({ jobName: job }), r)).suppressed).toBe(false);
    expect(sent()).toEqual({ slack: 1, email: 1, webhook: 1 });

    clock = new Date(clock.getTime() + 30 * 60_000);
    expect(await dispatcher.notify(alertEvent({ jobName: job, consecutiveFailures: 4 }), r)).toEqual({ delivered: [], failed: [], suppressed: true });
    expect(sent()).toEqual({ slack: 1, email: 1, webhook: 1 });
    const suppressed = (await alertRows(job)).filter((row) => row.status === "suppressed");
    expect(suppressed.map((row) => row.channel)).toEqual(["slack", "email", "webhook"]);

    // Another kind has its own window.
    expect((await dispatcher.notify(alertEvent({ jobName: job, kind: "dead_letter" }), r)).delivered).toEqual(["slack", "email", "webhook"]);
    expect(sent()).toEqual({ slack: 2, email: 2, webhook: 2 });

    // The window counts from the last delivery, not from the suppressed attempt.
    clock = new Date(clock.getTime() + 30 * 60_000 + 1);
    expect((await dispatcher.notify(alertEvent({ jobName: job, consecutiveFailures: 6 }), r)).suppressed).toBe(false);
    expect(sent()).toEqual({ slack: 3, email: 3, webhook: 3 });
  });

  it("does not let one job's alert hold back another job's", async () => {
    const { dispatcher } = await setup();
    const [a, b] = [freshJob(), freshJob()];
    expect((await dispatcher.notify(alertEvent({ jobName: a }), routing())).suppressed).toBe(false);
    expect((await dispatcher.notify(alertEvent({ jobName: b }), routing())).suppressed).toBe(false);
  });

  it("delivers exactly once when ten notifies for the same job and kind race", async () => {
    const { dispatcher, sent } = await setup();
    // Open the pool's ten connections first: otherwise the first notify finishes while the
    // others are still connecting, and the race is never run (seen: the test then passed without the lock).
    await Promise.all(Array.from({ length: 10 }, () => ctx.db.execute(sql`SELECT pg_sleep(0.02)`)));
    for (let round = 1; round <= 5; round++) {
      const job = freshJob();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => dispatcher.notify(alertEvent({ jobName: job, consecutiveFailures: 3 + i }), routing())));
      expect(results.filter((r) => !r.suppressed)).toHaveLength(1);
      expect(results.filter((r) => r.suppressed)).toHaveLength(9);
      expect(sent()).toEqual({ slack: round, email: round, webhook: round });
      const rows = await alertRows(job);
      expect(rows.filter((r) => r.status === "sent")).toHaveLength(3);
      expect(rows.filter((r) => r.status === "suppressed")).toHaveLength(27);
    }
  });

  it("records a failing and a silent channel as failed within their timeout while the others deliver", async () => {
    const { dispatcher, sent, hook } = await setup({ slackStatus: 500, webhookDelayMs: 10_000, timeoutMs: SHORT_TIMEOUT_MS });
    const job = freshJob();
    const started = Date.now();
    const result = await dispatcher.notify(alertEvent({ jobName: job }), routing());
    const elapsedMs = Date.now() - started;
    expect(result).toEqual({ delivered: ["email"], failed: ["slack", "webhook"], suppressed: false });
    expect(elapsedMs).toBeLessThan(SHORT_TIMEOUT_MS + 1_000);
    expect(sent()).toEqual({ slack: 1, email: 1, webhook: 1 });
    expect(hook.requests).toHaveLength(1);

    const rows = await alertRows(job);
    const byChannel = Object.fromEntries(rows.map((r) => [r.channel, r]));
    expect(byChannel.email).toMatchObject({ status: "sent", error: null });
    expect(byChannel.slack.status).toBe("failed");
    expect(byChannel.slack.error).toMatch(/^app-wide Slack webhook: HTTP 500 from 127\.0\.0\.1:\d+: invalid_token for \[redacted\]$/);
    expect(byChannel.webhook.status).toBe("failed");
    expect(byChannel.webhook.error).toMatch(new RegExp(`^alert webhook: no answer from 127\\.0\\.0\\.1:\\d+ within ${SHORT_TIMEOUT_MS} ms$`));
    for (const row of rows) {
      for (const secret of ["xQ9secretSlackTokenZ", SLACK_TOKEN_PATH, SMTP_PASSWORD, WEBHOOK_SECRET, "hooktoken123456"]) {
        expect(row.error ?? "").not.toContain(secret);
        expect(row.message ?? "").not.toContain(secret);
      }
    }
    expect(logs.join("\n")).not.toContain("xQ9secretSlackTokenZ");
  });

  it("does not start a window when every channel failed: the next alert is sent", async () => {
    const slack = await recordingServer({ status: 503 });
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: [new SlackChannel({ webhookUrl: slack.url })], now });
    const job = freshJob();
    expect(await dispatcher.notify(alertEvent({ jobName: job }), routing())).toEqual({ delivered: [], failed: ["slack"], suppressed: false });
    expect((await dispatcher.notify(alertEvent({ jobName: job }), routing())).suppressed).toBe(false);
    expect(slack.requests).toHaveLength(2);
    expect((await alertRows(job)).map((r) => r.status)).toEqual(["failed", "failed"]);
  });

  it("caps a channel that ignores its own timeout", async () => {
    const stuck: AlertChannel = { name: "webhook", timeoutMs: 100, appliesTo: () => true, send: () => new Promise(() => {}) };
    const throwing: AlertChannel = {
      name: "email",
      appliesTo: () => true,
      send: () => {
        throw new Error("boom with smtp://u:hunter22secret@mail.example.com");
      },
    };
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: [stuck, throwing], now, graceMs: 100 });
    const job = freshJob();
    const started = Date.now();
    expect(await dispatcher.notify(alertEvent({ jobName: job }), routing())).toEqual({ delivered: [], failed: ["webhook", "email"], suppressed: false });
    expect(Date.now() - started).toBeLessThan(1_000);
    const rows = await alertRows(job);
    expect(rows.map((r) => [r.channel, r.status, r.error])).toEqual([
      ["webhook", "failed", "webhook: gave up after 200 ms"],
      ["email", "failed", "boom with smtp://mail.example.com"],
    ]);
  });

  it("scrubs a job's own Slack webhook from every alert of that job, given only in its routing", async () => {
    const token = "jobOwnSlackToken0042";
    const jobHook = `https://hooks.slack.com/services/T0JOB01/B0JOB02/${token}`;
    const echoing: AlertChannel = {
      name: "slack",
      appliesTo: () => true,
      send: () => {
        throw new Error(`invalid_token ${token}`);
      },
    };
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: [echoing], now });
    const job = freshJob();
    for (let i = 0; i < 2; i++) {
      const outcome = await dispatcher.notify(alertEvent({ jobName: job, error: `could not post to ${jobHook}` }), routing({ slackWebhook: jobHook }));
      expect(outcome).toEqual({ delivered: [], failed: ["slack"], suppressed: false });
    }
    const rows = await alertRows(job);
    expect(rows.map((r) => [r.status, r.error])).toEqual([
      ["failed", "invalid_token [redacted]"],
      ["failed", "invalid_token [redacted]"],
    ]);
    for (const row of rows) expect(row.message).not.toContain(token);
  });

  it("sends nothing and records nothing when no channel applies", async () => {
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: [new SlackChannel({ webhookUrl: null })], now });
    const job = freshJob();
    expect(await dispatcher.notify(alertEvent({ jobName: job }), routing())).toEqual({ delivered: [], failed: [], suppressed: false });
    expect(await alertRows(job)).toEqual([]);
  });

  it("accepts a run id that is not a uuid (stored as null) and a missed slot without a run", async () => {
    const hook = await recordingServer();
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: [new WebhookChannel({ url: hook.url, secret: null })], now });
    const job = freshJob();
    const kinds: AlertKind[] = ["missed", "auto_paused"];
    await dispatcher.notify(alertEvent({ jobName: job, kind: kinds[0], runId: null }), routing());
    await dispatcher.notify(alertEvent({ jobName: job, kind: kinds[1], runId: "manual-1" }), routing());
    expect((await alertRows(job)).map((r) => [r.kind, r.run_id, r.status])).toEqual([
      ["missed", null, "sent"],
      ["auto_paused", null, "sent"],
    ]);
  });
});

describe("AlertDispatcher without its database", () => {
  it("still delivers (no rate limit) when the database cannot be reached, and says so", async () => {
    const hook = await recordingServer();
    const down = new Error("connect ECONNREFUSED postgres://app:dbpassword99@db.internal:5432/app");
    const db = { transaction: () => Promise.reject(down), execute: () => Promise.reject(down) } as unknown as Db;
    const logs: string[] = [];
    const dispatcher = new AlertDispatcher({ db, channels: [new WebhookChannel({ url: hook.url, secret: null })], log: (m) => logs.push(m) });
    expect(await dispatcher.notify(alertEvent({ jobName: `job-${randomUUID().slice(0, 8)}` }), routing())).toEqual({ delivered: ["webhook"], failed: [], suppressed: false });
    expect(hook.requests).toHaveLength(1);
    expect(logs.some((l) => l.includes("sending anyway"))).toBe(true);
    expect(logs.join("\n")).not.toContain("dbpassword99");
  });
});

/**
 * Alert windows per incident, through the real path: the engine runs the job and records it
 * (crondeck_finish_run keeps the streak and its incident), the observers apply the policy, and
 * the dispatcher decides on an injected clock, 5 minutes per run (no sleeping).
 */
describeOnDatabases("alert windows per incident", (ctx) => {
  let n = 0;
  let clock = new Date("2026-04-01T10:00:00.000Z");
  const tick = (minutes = 5) => (clock = new Date(clock.getTime() + minutes * 60_000));

  async function setup(config: Partial<JobConfig>) {
    const hook = await recordingServer();
    const jobs: JobDefinition[] = [];
    let fail = true;
    const job = defineJob({
      name: `incident-${++n}-${randomBytes(3).toString("hex")}`,
      schedule: "*/5 * * * *",
      handler: async () => {
        if (fail) throw new Error("upstream down");
        return "ok";
      },
      ...config,
    });
    jobs.push(job);
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: [new WebhookChannel({ url: hook.url, secret: null })], now: () => clock });
    const observers = createObservers(parseEnv({}), ctx.db, [], { registry: () => new JobRegistry(jobs), dispatcher });
    const deps: EngineDeps = { runs: new PostgresRunStore(ctx.db), holder: "alerts-test:1", codeVersion: null, settleGraceMs: 50, onRunFinished: observers.onRunFinished };
    let slot = Date.UTC(2026, 3, 1, 10);
    const trigger = async (ok: boolean) => {
      fail = !ok;
      tick();
      slot += 5 * 60_000;
      const outcome = await runTrigger(deps, { job, trigger: "schedule", scheduledFor: new Date(slot), budgetMs: 60_000 });
      expect(outcome.kind).toBe("ran");
    };
    const kinds = () => hook.requests.map((r) => (r.json as WebhookPayload).kind);
    const count = (kind: AlertKind) => kinds().filter((k) => k === kind).length;
    return { job, trigger, kinds, count };
  }

  it("suppresses repeats within one incident, and alerts again for a new failure streak after a recovery within the hour", async () => {
    const { trigger, count } = await setup({ alerts: { afterConsecutiveFailures: 2, reAlertAfter: "1h" }, deadLetter: { pauseAfter: 10 } });
    await trigger(false); // streak 1: below the threshold, nothing
    expect(count("failure") + count("dead_letter")).toBe(0);
    await trigger(false); // streak 2: the incident's alerts
    expect([count("failure"), count("dead_letter")]).toEqual([1, 1]);
    await trigger(false); // streak 3, same incident, within the window: held back
    expect([count("failure"), count("dead_letter")]).toEqual([1, 1]);
    await trigger(true); // recovery ends the incident
    expect(count("recovered")).toBe(1);
    await trigger(false);
    await trigger(false); // a new incident 25 minutes after the first alert: alerts again
    expect([count("failure"), count("dead_letter")]).toEqual([2, 2]);
    await trigger(false);
    expect([count("failure"), count("dead_letter")]).toEqual([2, 2]);
  });

  it("alerts on every auto-pause, twice within an hour", async () => {
    const { job, trigger, count } = await setup({ alerts: { afterConsecutiveFailures: 5, reAlertAfter: "1h" }, deadLetter: { pauseAfter: 1 } });
    await trigger(false);
    expect(count("auto_paused")).toBe(1);
    expect(await recoverJob(ctx.db, { name: "admin", via: "cookie", ip: null }, { jobName: job.name, note: null })).toEqual({ wasDeadLettered: true, wasPaused: false });
    await trigger(false);
    expect(count("auto_paused")).toBe(2);
    expect(count("failure")).toBe(0);
  });
});
