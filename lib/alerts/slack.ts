import { escapeSlack, formatAlertText, formatSlackBlocks } from "./format";
import { DeliveryError, postJson } from "./http-post";
import type { AlertChannel, AlertEvent, AlertRouting } from "./types";

export interface SlackChannelOptions {
  /** The app-wide incoming webhook (SLACK_WEBHOOK_URL); null when only jobs name their own. */
  webhookUrl: string | null;
  /** Per request. Default 3000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Slack incoming webhooks. A job's own webhook (alerts.slackWebhook) is sent to as well as the
 * app-wide one, once when both are the same URL. The channel fails when any webhook fails,
 * naming which one; the others are still posted to.
 */
export class SlackChannel implements AlertChannel {
  readonly name = "slack" as const;
  readonly timeoutMs: number;
  readonly secrets: readonly string[];

  constructor(private readonly options: SlackChannelOptions) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.secrets = options.webhookUrl ? [options.webhookUrl] : [];
  }

  private targets(routing: AlertRouting): Array<{ url: string; target: string }> {
    const targets: Array<{ url: string; target: string }> = [];
    if (this.options.webhookUrl) targets.push({ url: this.options.webhookUrl, target: "app-wide Slack webhook" });
    if (routing.slackWebhook && routing.slackWebhook !== this.options.webhookUrl) targets.push({ url: routing.slackWebhook, target: "job's Slack webhook" });
    return targets;
  }

  appliesTo(routing: AlertRouting): boolean {
    return this.targets(routing).length > 0;
  }

  async send(event: AlertEvent, routing: AlertRouting): Promise<void> {
    const body = JSON.stringify({ text: escapeSlack(formatAlertText(event)), blocks: formatSlackBlocks(event) });
    const targets = this.targets(routing);
    const results = await Promise.allSettled(
      targets.map(({ url, target }) => postJson(url, body, { target, timeoutMs: this.timeoutMs, fetch: this.options.fetch })),
    );
    const errors = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
    if (errors.length) {
      const prefix = targets.length > 1 ? `${errors.length} of ${targets.length} Slack webhooks failed: ` : "";
      throw new DeliveryError(prefix + errors.join("; "));
    }
  }
}
