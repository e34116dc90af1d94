import { afterEach, describe, expect, it } from "vitest";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { AlertEvent } from "@/lib/alerts/types";
import { parseEnv, secretsOf } from "@/lib/env";
import { standardWebhookSecret, webhookMessageId, WebhookChannel, webhookSigningKey } from "@/lib/alerts/webhook";
import { alertEvent, RUN_ID } from "../support/alert-event";
import { startRecordingServer, type RecordedRequest, type RecordingServer } from "../support/recording-server";

/**
 * Webhook alerts are signed as Standard Webhooks specifies; a receiver verifies them with the
 * `standardwebhooks` library (as the README tells it to), against the real clock, so these tests
 * send to a real local server and verify what arrived, as a receiver would, then try to get a
 * captured delivery accepted again: later, under another id, with another body.
 */

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** The sample alert without a dashboard link or details. */
const event = (overrides: Partial<AlertEvent> = {}): AlertEvent => alertEvent({ url: null, detail: undefined, ...overrides });

const servers: RecordingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function deliver(secret: string, alert: AlertEvent, now: Date = new Date()): Promise<RecordedRequest> {
  const hook = await startRecordingServer();
  servers.push(hook);
  await new WebhookChannel({ url: hook.url, secret, now: () => now }).send(alert);
  expect(hook.requests).toHaveLength(1);
  return hook.requests[0];
}

const headersOf = (req: RecordedRequest) => req.headers as Record<string, string>;

describe("Standard Webhooks signature", () => {
  it("verifies as delivered, and refuses the same delivery replayed with an old timestamp", async () => {
    const fresh = await deliver(SECRET, event());
    expect(new Webhook(SECRET).verify(fresh.raw, headersOf(fresh))).toMatchObject({ kind: "failure", runId: RUN_ID });

    // Captured ten minutes ago: the signature is genuine, but it covers the timestamp.
    const old = await deliver(SECRET, event(), new Date(Date.now() - 10 * 60_000));
    expect(() => new Webhook(SECRET).verify(old.raw, headersOf(old))).toThrow(/timestamp too old/);
    // Re-stamping it with the current time breaks the signature.
    const restamped = { ...headersOf(old), "webhook-timestamp": String(Math.floor(Date.now() / 1000)) };
    expect(() => new Webhook(SECRET).verify(old.raw, restamped)).toThrow(/No matching signature/);
  });

  it("refuses a delivery whose id or body was changed", async () => {
    const req = await deliver(SECRET, event());
    const headers = headersOf(req);
    // A new id (to get past a receiver's de-duplication) breaks the signature.
    expect(() => new Webhook(SECRET).verify(req.raw, { ...headers, "webhook-id": "msg_another" })).toThrow(WebhookVerificationError);
    const edited = req.raw.toString("utf8").replace('"consecutiveFailures":3', '"consecutiveFailures":4');
    expect(edited).not.toBe(req.raw.toString("utf8"));
    expect(() => new Webhook(SECRET).verify(edited, headers)).toThrow(/No matching signature/);
    // Another key does not verify it either.
    expect(() => new Webhook("whsec_" + Buffer.from("another key entirely").toString("base64")).verify(req.raw, headers)).toThrow(/No matching signature/);
  });

  it("gives every delivery of the same alert the same webhook-id, and different alerts different ids", async () => {
    const first = await deliver(SECRET, event());
    const again = await deliver(SECRET, event(), new Date(Date.now() + 1_000));
    expect(again.headers["webhook-id"]).toBe(first.headers["webhook-id"]);
    expect(again.headers["webhook-signature"]).not.toBe(first.headers["webhook-signature"]);

    const ids = new Set([
      webhookMessageId(event()),
      webhookMessageId(event({ kind: "dead_letter" })),
      webhookMessageId(event({ runId: "0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f" })),
      webhookMessageId(event({ jobName: "nightly-report" })),
      webhookMessageId(event({ runId: null, kind: "missed" })),
      webhookMessageId(event({ runId: null, kind: "missed", scheduledFor: new Date("2026-03-01T10:00:00.000Z") })),
    ]);
    expect(ids.size).toBe(6);
    // The same missed slot reported by a later tick is the same alert; a tick's own failures (no run, no slot) differ by time.
    expect(webhookMessageId(event({ runId: null, kind: "missed", at: new Date() }))).toBe(webhookMessageId(event({ runId: null, kind: "missed" })));
    const tickFailure = { runId: null, scheduledFor: null };
    expect(webhookMessageId(event({ ...tickFailure, at: new Date("2026-03-01T10:01:00Z") }))).not.toBe(webhookMessageId(event({ ...tickFailure, at: new Date("2026-03-01T10:02:00Z") })));
  });

  it("takes a secret that is not whsec_ as its UTF-8 bytes: the receiver uses whsec_ + base64 of it", async () => {
    const plain = "a-long-random-webhook-secret-from-openssl-rand-hex";
    const req = await deliver(plain, event());
    expect(standardWebhookSecret(plain)).toBe(`whsec_${Buffer.from(plain).toString("base64")}`);
    expect(new Webhook(standardWebhookSecret(plain)).verify(req.raw, headersOf(req))).toMatchObject({ runId: RUN_ID });
    expect(new Webhook(plain, { format: "raw" }).verify(req.raw, headersOf(req))).toMatchObject({ runId: RUN_ID });
    // Read as base64 instead, it is another key.
    expect(() => new Webhook(`whsec_${plain.replace(/-/g, "")}`).verify(req.raw, headersOf(req))).toThrow(WebhookVerificationError);
    expect(standardWebhookSecret(SECRET)).toBe(SECRET);
  });

  it("refuses a whsec_ secret whose rest is not base64, saying how to make one", () => {
    expect(() => webhookSigningKey("whsec_not base64!")).toThrow(/not base64; generate one with/);
    expect(() => new WebhookChannel({ url: "http://127.0.0.1:9", secret: "whsec_abc" })).toThrow(/not base64/);
  });

  it("scrubs the secret in every form its receiver may hold, the forms secretsOf lists for ALERT_WEBHOOK_SECRET", () => {
    const url = "http://127.0.0.1:9/hook";
    const plain = "plain-signing-secret-0042";
    for (const secret of [SECRET, plain]) {
      const standard = standardWebhookSecret(secret);
      const channel = new WebhookChannel({ url, secret });
      expect(channel.secrets).toEqual(expect.arrayContaining([url, secret, standard, standard.slice("whsec_".length)]));
      const envSecrets = secretsOf(parseEnv({ ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_SECRET: secret }));
      for (const form of channel.secrets) expect(envSecrets, form).toContain(form);
    }
  });
});
