import { AlertDispatcher, alertChannelsFromEnv, type AlertOutcome } from "../alerts";
import { defineJob } from "../cron/define-job";
import { getDatabase, type Db } from "../db/client";
import { pendingDigest, type PendingDigest } from "../db/queries/dead-letter-insight";
import { loadEnv, secretsOf, type Env } from "../env";

/** Why a digest run sent nothing: each a real outcome, returned as the run's output. */
export const DIGEST_SKIPS = {
  disabled: "CRON_DEAD_LETTER_DIGEST is not 1: the daily digest is off",
  queue_empty: "no dead-letter entry is pending",
  no_channels: "no alert channel is configured (SLACK_WEBHOOK_URL, SMTP_URL with ALERT_EMAIL_TO, ALERT_WEBHOOK_URL)",
  suppressed: "a digest already went out within the job's re-alert window (alerts.reAlertAfter)",
} as const;
export type DigestSkip = keyof typeof DIGEST_SKIPS;

/** What one digest run did: sent (with the channels' outcome) or not, with the reason. */
export type DigestOutcome =
  | { sent: true; pending: number; oldest: PendingDigest["oldest"]; delivered: string[]; failed: string[] }
  | { sent: false; reason: DigestSkip; message: string; pending: number | null };

/** Reasons shown in a digest: the top ones by fingerprint. */
const DIGEST_TOP_REASONS = 3;

const NAME = "dead-letter-digest";
/** At most one digest per this window, whatever triggers the job (a manual run, a replay, a double delivery). */
const RE_ALERT_AFTER = "12h";

/** Where the dashboard lists the dead-letter queue, when the app's URL is known. */
export function deadLettersUrl(env: Pick<Env, "NEXT_PUBLIC_APP_URL">): string | null {
  return env.NEXT_PUBLIC_APP_URL ? new URL("/dashboard/admin/dead-letters", env.NEXT_PUBLIC_APP_URL).toString() : null;
}

export interface DigestInput {
  env: Env;
  db: Db;
  /** Default: the app's channels (alertChannelsFromEnv), as lib/app/observers.ts builds them. */
  dispatcher?: AlertDispatcher;
  runId: string | null;
  scheduledFor: Date | null;
  now: Date;
  reAlertAfterMs: number;
}

/**
 * The daily summary of a non-empty dead-letter queue (CRON_DEAD_LETTER_DIGEST=1): one
 * `dead_letter_digest` alert with the pending count, the oldest entry, the top reasons by
 * fingerprint and a link to the dashboard, through the app's alert channels. When the flag is
 * off, the queue is empty, no channel is configured or a digest went out within the window, it
 * sends nothing and says why. Every channel failing fails the run (it is retried).
 */
export async function sendDeadLetterDigest(input: DigestInput): Promise<DigestOutcome> {
  const skip = (reason: DigestSkip, pending: number | null): DigestOutcome => ({ sent: false, reason, message: DIGEST_SKIPS[reason], pending });
  if (!input.env.CRON_DEAD_LETTER_DIGEST) return skip("disabled", null);
  const digest = await pendingDigest(input.db, { topReasons: DIGEST_TOP_REASONS });
  if (digest.pending === 0) return skip("queue_empty", 0);

  const dispatcher = input.dispatcher ?? new AlertDispatcher({ db: input.db, channels: alertChannelsFromEnv(input.env), secrets: secretsOf(input.env), log: (m) => console.warn(`[crondeck] ${m}`) });
  const reasons = digest.topReasons.map((r) => `${r.entries} x ${r.fingerprint || "(empty)"} [${r.jobs.join(", ")}]`);
  const outcome: AlertOutcome = await dispatcher.notify(
    {
      kind: "dead_letter_digest",
      jobName: NAME,
      category: "alerts",
      runId: input.runId,
      scheduledFor: input.scheduledFor,
      consecutiveFailures: 0,
      error: null,
      at: input.now,
      url: deadLettersUrl(input.env),
      detail: {
        pending: digest.pending,
        oldestJob: digest.oldest?.jobName ?? null,
        oldestSince: digest.oldest?.createdAt ?? null,
        ...Object.fromEntries(reasons.map((text, i) => [`reason_${i + 1}`, text])),
      },
    },
    { slackWebhook: null, email: [], reAlertAfterMs: input.reAlertAfterMs },
  );
  if (outcome.suppressed) return skip("suppressed", digest.pending);
  if (outcome.delivered.length === 0 && outcome.failed.length === 0) return skip("no_channels", digest.pending);
  if (outcome.delivered.length === 0) throw new Error(`the dead-letter digest reached no channel: ${outcome.failed.join(", ")} failed (see cron_alerts)`);
  return { sent: true, pending: digest.pending, oldest: digest.oldest, delivered: outcome.delivered, failed: outcome.failed };
}

/** Daily at 08:00 UTC (once a day fits Vercel's Hobby plan too). */
const job = defineJob({
  name: NAME,
  schedule: "0 8 * * *",
  description: "Daily digest of the pending dead-letter entries through the alert channels (CRON_DEAD_LETTER_DIGEST=1)",
  category: "alerts",
  timeout: "1m",
  retries: 1,
  backoff: { strategy: "fixed", delay: "10s" },
  // Its own failures alert at once: a digest that cannot go out is worth knowing about today.
  alerts: { afterConsecutiveFailures: 1, reAlertAfter: RE_ALERT_AFTER, regression: false },
  // A digest is not worth replaying: tomorrow's says the same, updated.
  deadLetter: { pauseAfter: 0 },
  handler: async (ctx) => {
    const env = loadEnv();
    const { db } = await getDatabase(env);
    const outcome = await sendDeadLetterDigest({ env, db, runId: ctx.runId, scheduledFor: ctx.scheduledFor, now: new Date(), reAlertAfterMs: job.alerts.reAlertAfterMs });
    ctx.log(outcome.sent ? `digest of ${outcome.pending} pending entries sent via ${outcome.delivered.join(", ")}` : `no digest: ${outcome.message}`);
    return outcome;
  },
});

export default job;
