import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createAppDatabase, itWithPostgres, type AppDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { startSentryRecorder, type SentryRecorder } from "../support/sentry-recorder";

/**
 * Failure alerts end to end over real HTTP: `next start` with Sentry pointed at a local
 * recorder and Slack at a local webhook receiver; demo-stubborn times out on every run. On the
 * Postgres server when TEST_DATABASE_URL is set, else on PGlite (the test uses HTTP only).
 */
const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const AUTH = { authorization: `Bearer ${SECRET}` };

let database: AppDatabase & { env: { DATABASE_URL?: string } };
let server: NextServer;
let sentry: SentryRecorder;
let slack: RecordingServer;

beforeAll(async () => {
  database = await createAppDatabase();
  sentry = await startSentryRecorder();
  slack = await startRecordingServer();
  server = await startNextServer({
    env: {
      ...database.env,
      CRON_SECRET: SECRET,
      CRON_DEMO: "1",
      CRON_DEMO_STUBBORN_MS: "1200",
      SENTRY_DSN: sentry.dsn,
      SLACK_WEBHOOK_URL: `${slack.url}/hooks/team`,
      NEXT_PUBLIC_APP_URL: "http://crondeck.test",
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await sentry?.close();
  await slack?.close();
  await database?.dispose();
});

const trigger = async (job: string) => {
  const response = await fetch(`${server.url}/api/cron/execute/${job}`, { method: "POST", headers: AUTH });
  return { status: response.status, body: await response.json() };
};

it("sends a failing run's Sentry event and check-ins before the HTTP response ends", async () => {
  const reply = await trigger("demo-stubborn");
  expect(reply.status).toBe(500);
  expect(reply.body.execution.status).toBe("timed_out");
  // No waiting: the route flushed Sentry before it answered.
  const events = sentry.events();
  const event = events.find((e) => e.tags?.job_name === "demo-stubborn");
  expect(event, JSON.stringify(events).slice(0, 500)).toBeDefined();
  expect(event!.tags).toMatchObject({ job_name: "demo-stubborn", category: "demo", trigger: "manual", attempts: "1" });
  expect(event!.fingerprint).toEqual(["crondeck", "demo-stubborn", expect.stringContaining("timed out")]);
  const checkIns = sentry.checkIns().filter((c) => c.monitor_slug === "demo-stubborn");
  expect(checkIns.map((c) => c.status)).toEqual(["in_progress", "error"]);
  expect(checkIns[0].monitor_config).toMatchObject({ schedule: { type: "crontab", value: "*/10 * * * *" }, max_runtime: 1 });
});

it("alerts Slack at the third consecutive failure, on the dead letter and on the auto-pause, once each", async () => {
  // Run 1 (manual) happened above: it starts the failure streak but, being manual, does not
  // count toward the auto-pause. Three scheduled slots (demo-stubborn runs every 10 minutes)
  // follow, each once its predecessor's lease is free (the handler settles 1.2 s after it starts).
  const before = slack.requests.length;
  const base = Math.floor(Date.now() / 600_000) * 600_000;
  for (const minutesAgo of [30, 20, 10]) {
    const slot = new Date(base - minutesAgo * 60_000).toISOString();
    let reply;
    for (let tries = 0; tries < 40; tries++) {
      await new Promise((r) => setTimeout(r, 250));
      const response = await fetch(`${server.url}/api/cron/execute/demo-stubborn?trigger=tick&slot=${slot}`, { method: "POST", headers: AUTH });
      reply = { status: response.status, body: await response.json() };
      if (!(reply.body.skipped && reply.body.reason === "already_running")) break;
    }
    expect(reply!.body.execution.status, JSON.stringify(reply!.body)).toBe("timed_out");
  }
  const texts = slack.requests.map((r) => String((r.json as { text?: string })?.text ?? ""));
  expect(texts.length).toBeGreaterThan(before);
  const failure = texts.find((t) => /3 times in a row|3 consecutive/i.test(t));
  expect(failure, texts.join("\n---\n")).toBeDefined();
  expect(failure).toContain("demo-stubborn");
  expect(failure).toContain("http://crondeck.test/dashboard/admin/cron-jobs/demo-stubborn?run=");
  // The dead-letter alert waited for the failure threshold, then went out once for the incident despite later dead letters.
  expect(texts.filter((t) => /dead.?letter/i.test(t) && !/pause/i.test(t))).toHaveLength(1);
  expect(texts.filter((t) => /paused/i.test(t))).toHaveLength(1);
  // The job is now paused: a scheduled trigger is skipped and recorded.
  const skipped = await fetch(`${server.url}/api/cron/execute/demo-stubborn`, { headers: { ...AUTH, "user-agent": "vercel-cron/1.0" } });
  expect(await skipped.json()).toMatchObject({ skipped: true, reason: "dead_lettered" });
});

itWithPostgres("records each alert it sent once in cron_alerts", async () => {
  const client = new pg.Client({ connectionString: database.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT channel, kind, status FROM cron_alerts WHERE job_name = 'demo-stubborn' AND status = 'sent' ORDER BY id`);
    expect(rows.map((r) => r.kind).sort()).toEqual(["auto_paused", "dead_letter", "failure"]);
  } finally {
    await client.end();
  }
});
