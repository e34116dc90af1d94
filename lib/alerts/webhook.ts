import { createHmac } from "node:crypto";
import { postJson } from "./http-post";
import type { AlertChannel, AlertEvent } from "./types";

export interface WebhookChannelOptions {
  /** ALERT_WEBHOOK_URL */
  url: string;
  /** ALERT_WEBHOOK_SECRET; without it requests go unsigned (no X-Crondeck-Signature header). */
  secret: string | null;
  /** Default 3000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** For tests: the clock behind X-Crondeck-Timestamp. */
  now?: () => Date;
}

/** The JSON a generic webhook receives. Dates are ISO 8601 UTC strings. */
export interface WebhookPayload {
  kind: AlertEvent["kind"];
  jobName: string;
  category: string;
  runId: string | null;
  scheduledFor: string | null;
  consecutiveFailures: number;
  error: string | null;
  at: string;
  url: string | null;
  detail: Record<string, string | number | boolean | null>;
}

export const SIGNATURE_HEADER = "X-Crondeck-Signature";
export const TIMESTAMP_HEADER = "X-Crondeck-Timestamp";

export function webhookPayload(event: AlertEvent): WebhookPayload {
  return {
    kind: event.kind,
    jobName: event.jobName,
    category: event.category,
    runId: event.runId,
    scheduledFor: event.scheduledFor?.toISOString() ?? null,
    consecutiveFailures: event.consecutiveFailures,
    error: event.error,
    at: event.at.toISOString(),
    url: event.url,
    detail: event.detail ?? {},
  };
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes. Receivers should compare with timingSafeEqual. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/**
 * A generic JSON webhook, signed like GitHub's: X-Crondeck-Signature is the HMAC of the body
 * alone; X-Crondeck-Timestamp (Unix seconds) is informative and not covered by the signature.
 */
export class WebhookChannel implements AlertChannel {
  readonly name = "webhook" as const;
  readonly timeoutMs: number;
  readonly secrets: readonly string[];

  constructor(private readonly options: WebhookChannelOptions) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.secrets = [options.url, ...(options.secret ? [options.secret] : [])];
  }

  appliesTo(): boolean {
    return true;
  }

  async send(event: AlertEvent): Promise<void> {
    const body = JSON.stringify(webhookPayload(event));
    const headers: Record<string, string> = {
      [TIMESTAMP_HEADER]: String(Math.floor((this.options.now?.() ?? new Date()).getTime() / 1000)),
    };
    if (this.options.secret) headers[SIGNATURE_HEADER] = signWebhookBody(body, this.options.secret);
    await postJson(this.options.url, body, { target: "alert webhook", headers, timeoutMs: this.timeoutMs, fetch: this.options.fetch });
  }
}
