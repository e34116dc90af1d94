import type { Env } from "../env";
import { EmailChannel, parseAddressList } from "./email";
import { SlackChannel } from "./slack";
import type { AlertChannel } from "./types";
import { WebhookChannel } from "./webhook";

export interface AlertChannelsOptions {
  /** Per request / per SMTP step. Default 3000. */
  timeoutMs?: number;
}

/** The variables of the parsed Env that configure the channels. */
export type AlertEnv = Partial<Pick<Env, "SLACK_WEBHOOK_URL" | "SMTP_URL" | "ALERT_EMAIL_TO" | "ALERT_EMAIL_FROM" | "ALERT_WEBHOOK_URL" | "ALERT_WEBHOOK_SECRET">>;

/** A set value, trimmed; blank is unset. */
const value = (env: AlertEnv, key: keyof AlertEnv): string | undefined => env[key]?.trim() || undefined;

/**
 * The delivery channels the environment configures:
 * - Slack always (a job's own alerts.slackWebhook works without SLACK_WEBHOOK_URL);
 * - e-mail when SMTP_URL is set (to ALERT_EMAIL_TO plus each job's alerts.email);
 * - the generic webhook when ALERT_WEBHOOK_URL is set (signed with ALERT_WEBHOOK_SECRET if set).
 * Takes the parsed Env (lib/env.ts) and reads nothing at import time.
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
