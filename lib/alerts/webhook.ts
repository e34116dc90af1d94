import { createHash } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { postJson } from "./http-post";
import { webhookSecretForms, webhookSigningKey } from "./webhook-secret";
import type { AlertChannel, AlertEvent } from "./types";

export { standardWebhookSecret, webhookSigningKey } from "./webhook-secret";

export interface WebhookChannelOptions {
  /** ALERT_WEBHOOK_URL */
  url: string;
  /** ALERT_WEBHOOK_SECRET; without it requests go unsigned (no webhook-signature header). */
  secret: string | null;
  /** Default 3000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** For tests: the clock behind webhook-timestamp (and the signature over it). */
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

/** The Standard Webhooks headers (https://www.standardwebhooks.com): every delivery has all three when signed. */
export const ID_HEADER = "webhook-id";
export const TIMESTAMP_HEADER = "webhook-timestamp";
export const SIGNATURE_HEADER = "webhook-signature";

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

/**
 * The delivery's webhook-id, the same for every delivery of the same alert (a re-sent alert, or
 * two instances sending it while the database that rate-limits them is down), so a receiver can
 * drop duplicates: a digest of the kind, the job, the run and the slot; an alert with neither a
 * run nor a slot (a tick's own failure) adds its time, or all of them would share one id.
 */
export function webhookMessageId(event: AlertEvent): string {
  const slot = event.scheduledFor?.toISOString() ?? null;
  const identity = [event.kind, event.jobName, event.runId, slot, event.runId === null && slot === null ? event.at.toISOString() : null];
  return `msg_${createHash("sha256").update(JSON.stringify(identity)).digest("base64url").slice(0, 32)}`;
}

/** The three Standard Webhooks headers for `body`: webhook-signature is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function signWebhook(body: string, secret: string, id: string, at: Date): Record<string, string> {
  const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000);
  return {
    [ID_HEADER]: id,
    [TIMESTAMP_HEADER]: String(timestamp.getTime() / 1000),
    [SIGNATURE_HEADER]: new Webhook(webhookSigningKey(secret), { format: "raw" }).sign(id, timestamp, body),
  };
}

/**
 * A generic JSON webhook, signed as Standard Webhooks specifies (with its reference library): the
 * signature covers the id, the timestamp and the body, so a receiver that checks the timestamp's
 * age (5 minutes in the libraries) and remembers ids refuses a captured delivery replayed later.
 * Unsigned without a secret: webhook-id and webhook-timestamp are still sent.
 */
export class WebhookChannel implements AlertChannel {
  readonly name = "webhook" as const;
  readonly timeoutMs: number;
  readonly secrets: readonly string[];

  constructor(private readonly options: WebhookChannelOptions) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    if (options.secret) webhookSigningKey(options.secret);
    // The secret in the forms lib/env.ts secretsOf lists too (webhook-secret.ts decides them).
    this.secrets = [options.url, ...webhookSecretForms(options.secret)];
  }

  appliesTo(): boolean {
    return true;
  }

  async send(event: AlertEvent): Promise<void> {
    const body = JSON.stringify(webhookPayload(event));
    const id = webhookMessageId(event);
    const at = this.options.now?.() ?? new Date();
    const headers = this.options.secret ? signWebhook(body, this.options.secret, id, at) : { [ID_HEADER]: id, [TIMESTAMP_HEADER]: String(Math.floor(at.getTime() / 1000)) };
    await postJson(this.options.url, body, { target: "alert webhook", headers, timeoutMs: this.timeoutMs, fetch: this.options.fetch });
  }
}
