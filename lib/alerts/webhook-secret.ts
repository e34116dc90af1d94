/**
 * ALERT_WEBHOOK_SECRET and the HMAC key it stands for (Standard Webhooks, https://www.standardwebhooks.com).
 * Its own module, free of the signing library, because lib/env.ts checks the format at start-up.
 */

/** The prefix of a Standard Webhooks secret: `whsec_` and the key in base64. */
export const STANDARD_SECRET_PREFIX = "whsec_";

/** True for `whsec_` followed by well-formed base64 (padded to a multiple of 4 characters, as the spec's libraries decode it). */
export function isStandardWebhookSecret(secret: string): boolean {
  const encoded = secret.slice(STANDARD_SECRET_PREFIX.length);
  return secret.startsWith(STANDARD_SECRET_PREFIX) && encoded.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(encoded);
}

/**
 * The HMAC key behind ALERT_WEBHOOK_SECRET. A `whsec_<base64>` value (what Svix and other Standard
 * Webhooks receivers hand out) is used as the spec says: the base64 decoded. Any other value is used
 * as its UTF-8 bytes, so the receiver's secret is `whsec_` + base64 of it (standardWebhookSecret).
 * Throws on a `whsec_` value whose rest is not base64 (lib/env.ts refuses it at start-up).
 */
export function webhookSigningKey(secret: string): Uint8Array {
  if (!secret.startsWith(STANDARD_SECRET_PREFIX)) return new Uint8Array(Buffer.from(secret, "utf8"));
  if (!isStandardWebhookSecret(secret)) {
    throw new Error("ALERT_WEBHOOK_SECRET starts with whsec_ but the rest is not base64; generate one with: echo whsec_$(openssl rand -base64 32)");
  }
  return new Uint8Array(Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), "base64"));
}

/** ALERT_WEBHOOK_SECRET in the `whsec_<base64>` form a Standard Webhooks receiver library takes. */
export function standardWebhookSecret(secret: string): string {
  return `${STANDARD_SECRET_PREFIX}${Buffer.from(webhookSigningKey(secret)).toString("base64")}`;
}

/**
 * Every form of ALERT_WEBHOOK_SECRET that is secret: the value, and as its receiver holds it,
 * `whsec_<base64 key>` and the base64 key alone. Just the value for a malformed `whsec_` one.
 */
export function webhookSecretForms(secret: string | null | undefined): string[] {
  if (!secret) return [];
  if (secret.startsWith(STANDARD_SECRET_PREFIX) && !isStandardWebhookSecret(secret)) return [secret];
  const standard = standardWebhookSecret(secret);
  return [secret, standard, standard.slice(STANDARD_SECRET_PREFIX.length)];
}
