import { EmailChannel, parseAddressList } from "./email";
import { SlackChannel } from "./slack";
import type { AlertChannel } from "./types";
import { WebhookChannel } from "./webhook";

export interface AlertChannelsOptions {
  /** Per request / per SMTP step. Default 3000. */
  timeoutMs?: number;
}

/** process.env, or the parsed Env (whose other fields are not all strings). */
export type AlertEnv = { readonly [key: string]: unknown };

const value = (env: AlertEnv, key: string): string | undefined => {
  const v = env[key];
  return typeof v === "string" && v.trim() ? v.trim() : undefined;
};

/**
 * The delivery channels the environment configures:
 * - Slack always (a job's own alerts.slackWebhook works without SLACK_WEBHOOK_URL);
 * - e-mail when SMTP_URL is set (to ALERT_EMAIL_TO plus each job's alerts.email);
 * - the generic webhook when ALERT_WEBHOOK_URL is set (signed with ALERT_WEBHOOK_SECRET if set).
 * Takes a plain object (the parsed Env or process.env) and reads nothing at import time.
 */
export function alertChannelsFromEnv(env: AlertEnv, options: AlertChannelsOptions = {}): AlertChannel[] {
  const channels: AlertChannel[] = [new SlackChannel({ webhookUrl: value(env, "SLACK_WEBHOOK_URL") ?? null, timeoutMs: options.timeoutMs })];
  const smtpUrl = value(env, "SMTP_URL");
  if (smtpUrl) {
    channels.push(
      new EmailChannel({
        smtpUrl,
        from: value(env, "ALERT_EMAIL_FROM") ?? defaultFrom(smtpUrl),
        to: parseAddressList(value(env, "ALERT_EMAIL_TO")),
        timeoutMs: options.timeoutMs,
      }),
    );
  }
  const webhookUrl = value(env, "ALERT_WEBHOOK_URL");
  if (webhookUrl) channels.push(new WebhookChannel({ url: webhookUrl, secret: value(env, "ALERT_WEBHOOK_SECRET") ?? null, timeoutMs: options.timeoutMs }));
  return channels;
}

/** Without ALERT_EMAIL_FROM: the SMTP user when it is an address (most providers insist), else crondeck@<smtp host>. */
function defaultFrom(smtpUrl: string): string {
  try {
    const url = new URL(smtpUrl);
    const user = decodeURIComponent(url.username);
    return user.includes("@") ? `Crondeck <${user}>` : `Crondeck <crondeck@${url.hostname}>`;
  } catch {
    return "Crondeck <crondeck@localhost>";
  }
}
