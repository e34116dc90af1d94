import { redact, secretSet, truncate } from "../cron/redact";

/**
 * Alert errors (a channel's delivery failure) are stored in cron_alerts and shown on the
 * dashboard. What is secret and how it is removed is lib/cron/redact.ts's to decide; on top of
 * it, an alert error shows no URL beyond its scheme and host (a delivery error may quote a URL
 * that is no configured secret, e.g. a redirect's target) and masks Slack tokens.
 */
const URL_RE = /\b([a-z][a-z0-9+.-]*):\/\/(?:[^\s/?#@]*@)?([^\s/?#@]+)([^\s]*)/gi;
const SLACK_TOKEN_RE = /\bxox[a-z]-[A-Za-z0-9-]+/g;
const MAX_ERROR_CHARS = 1_000;

const expanded = new WeakMap<readonly string[], string[]>();

/**
 * The secret forms of an alert channel's secrets: each is secret as a whole, and a URL's
 * path, query and credentials are too (a server may echo its path back). Computed once per list.
 */
export function alertSecrets(secrets: readonly string[]): string[] {
  let out = expanded.get(secrets);
  if (!out) {
    out = secretSet({ secretUrls: secrets });
    expanded.set(secrets, out);
  }
  return out;
}

export function redactAlertError(text: string, secrets: readonly string[] = []): string {
  const out = redact(text, alertSecrets(secrets))
    .replace(URL_RE, (_match, scheme: string, host: string, rest: string) => (rest && rest !== "/" ? `${scheme}://${host}/…` : `${scheme}://${host}`))
    .replace(SLACK_TOKEN_RE, "xox…[redacted]");
  return truncate(out, MAX_ERROR_CHARS);
}

/** host[:port] of a URL, safe to show (no credentials, no path). */
export function safeHost(url: string): string {
  try {
    return new URL(url).host || "unknown host";
  } catch {
    return "an invalid URL";
  }
}
