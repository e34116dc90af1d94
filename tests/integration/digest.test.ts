import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AlertDispatcher } from "@/lib/alerts/dispatcher";
import { SlackChannel } from "@/lib/alerts/slack";
import { WebhookChannel, type WebhookPayload } from "@/lib/alerts/webhook";
import { queryRows, type Db } from "@/lib/db/client";
import { parseEnv } from "@/lib/env";
import digestJob, { DIGEST_SKIPS, sendDeadLetterDigest } from "@/lib/jobs/dead-letter-digest";
import { describeOnDatabases } from "../support/db";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";

/**
 * The daily dead-letter digest against a real database (PGlite and the Postgres server) and real
 * local receivers (Slack and the webhook): it sends one dead_letter_digest alert of the pending
 * entries when CRON_DEAD_LETTER_DIGEST=1, and otherwise sends nothing and says why. Each test
 * has a fresh database of its own, so "the queue is empty" is a fact of that database.
 */

let slack: RecordingServer;
let hook: RecordingServer;
let down: RecordingServer;
beforeAll(async () => {
  slack = await startRecordingServer();
  hook = await startRecordingServer();
  down = await startRecordingServer({ status: 500 });
});
afterAll(async () => {
  await Promise.all([slack?.close(), hook?.close(), down?.close()]);
});

const NOW = new Date("2026-06-15T08:00:00.000Z");
const env = (flag: boolean) => parseEnv({ CRON_DEAD_LETTER_DIGEST: flag ? "1" : undefined, NEXT_PUBLIC_APP_URL: "http://crondeck.test" });
const dispatcherOn = (db: Db, urls: string[] = [`${slack.url}/hooks/digest`]) =>
  new AlertDispatcher({ db, channels: [new SlackChannel({ webhookUrl: urls[0] }), ...urls.slice(1).map((url) => new WebhookChannel({ url, secret: null }))], now: () => NOW });

async function deadLetter(db: Db, job: string, reason: string, daysAgo: number, status = "pending"): Promise<void> {
  const created = new Date(NOW.getTime() - daysAgo * 86_400_000).toISOString();
  await db.execute(sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, recovery_status, created_at)
    VALUES (${randomUUID()}::uuid, ${job}, ${reason}, ${status}, ${created}::timestamptz)`);
}

const input = (db: Db, flag: boolean, dispatcher?: AlertDispatcher) => ({ env: env(flag), db, dispatcher, runId: randomUUID(), scheduledFor: NOW, now: NOW, reAlertAfterMs: digestJob.alerts.reAlertAfterMs });

describeOnDatabases("dead-letter digest", (ctx) => {
  it("is a daily built-in job of its own (alerts), not dead-lettered itself, with regression alerts off", () => {
    expect(digestJob).toMatchObject({ name: "dead-letter-digest", category: "alerts", schedule: { cron: "0 8 * * *", timezone: "UTC" }, deadLetter: { pauseAfter: 0 } });
    expect(digestJob.alerts.regression).toBeNull();
    expect(digestJob.alerts.reAlertAfterMs).toBe(12 * 3_600_000);
  });

  it("sends nothing on an empty queue, and says so, even with the flag on", async () => {
    const before = slack.requests.length;
    const outcome = await sendDeadLetterDigest(input(ctx.db, true, dispatcherOn(ctx.db)));
    expect(outcome).toEqual({ sent: false, reason: "queue_empty", message: DIGEST_SKIPS.queue_empty, pending: 0 });
    expect(slack.requests.length).toBe(before);
  });

  it("sends nothing while CRON_DEAD_LETTER_DIGEST is off, whatever is pending", async () => {
    await deadLetter(ctx.db, "dg-off", "boom 1", 1);
    const before = slack.requests.length;
    expect(await sendDeadLetterDigest(input(ctx.db, false, dispatcherOn(ctx.db)))).toEqual({ sent: false, reason: "disabled", message: DIGEST_SKIPS.disabled, pending: null });
    expect(slack.requests.length).toBe(before);
  });

  it("sends one digest per channel with the pending count, the oldest entry, the top reasons and the dashboard link; a second run within the window sends nothing", async () => {
    // The database holds dg-off's entry from the test before (same file, same database).
    await deadLetter(ctx.db, "dg-a", "timed out after 5000 ms", 3);
    await deadLetter(ctx.db, "dg-b", "timed out after 900 ms", 1);
    await deadLetter(ctx.db, "dg-b", 'upstream "orders" answered 503', 2);
    await deadLetter(ctx.db, "dg-old", "settled long ago 7", 9, "replayed");
    const [slackBefore, hookBefore] = [slack.requests.length, hook.requests.length];
    const dispatcher = dispatcherOn(ctx.db, [`${slack.url}/hooks/digest`, `${hook.url}/hook`]);
    const outcome = await sendDeadLetterDigest(input(ctx.db, true, dispatcher));
    expect(outcome).toEqual({ sent: true, pending: 4, oldest: { jobName: "dg-a", createdAt: new Date(NOW.getTime() - 3 * 86_400_000).toISOString() }, delivered: ["slack", "webhook"], failed: [] });
    expect(slack.requests.length - slackBefore).toBe(1);
    expect(hook.requests.length - hookBefore).toBe(1);
    // Slack's text escapes <, > and & (lib/alerts/format.ts escapeSlack).
    const text = String((slack.requests.at(-1)!.json as { text: string }).text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    expect(text).toContain("[Crondeck] Dead-letter digest: entries are waiting");
    expect(text).toContain("Pending: 4");
    expect(text).toContain("Oldest job: dg-a");
    expect(text).toContain("Reason 1: 2 x timed out after <n> ms [dg-a, dg-b]");
    expect(text).toContain("Open in Crondeck: http://crondeck.test/dashboard/admin/dead-letters");
    expect(text).not.toContain("settled long ago");
    const payload = hook.requests.at(-1)!.json as WebhookPayload;
    expect(payload.kind).toBe("dead_letter_digest");

    const again = await sendDeadLetterDigest(input(ctx.db, true, dispatcher));
    expect(again).toEqual({ sent: false, reason: "suppressed", message: DIGEST_SKIPS.suppressed, pending: 4 });
    expect(slack.requests.length - slackBefore).toBe(1);
    const rows = await queryRows<{ kind: string; status: string }>(ctx.db, sql`SELECT kind, status FROM cron_alerts WHERE job_name = 'dead-letter-digest' ORDER BY id`);
    expect(rows.map((r) => `${r.kind}:${r.status}`)).toEqual(["dead_letter_digest:sent", "dead_letter_digest:sent", "dead_letter_digest:suppressed", "dead_letter_digest:suppressed"]);
  });

  it("throws when every channel failed (the run fails and is retried per its retries), and says so when no channel is configured", async () => {
    const failing = new AlertDispatcher({ db: ctx.db, channels: [new SlackChannel({ webhookUrl: `${down.url}/hooks/x` })], now: () => new Date(NOW.getTime() + 86_400_000) });
    await expect(sendDeadLetterDigest({ ...input(ctx.db, true, failing), now: new Date(NOW.getTime() + 86_400_000) })).rejects.toThrow(/reached no channel: slack failed/);
    const none = new AlertDispatcher({ db: ctx.db, channels: [new SlackChannel({ webhookUrl: null })] });
    expect(await sendDeadLetterDigest(input(ctx.db, true, none))).toMatchObject({ sent: false, reason: "no_channels" });
  });
});
