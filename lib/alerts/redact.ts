import { redact, truncate } from "../cron/redact";

/**
 * Alert errors are stored in cron_alerts and shown on the dashboard, and alert targets carry
 * their secret in the URL itself (a Slack webhook's path is its token). So on top of the
 * engine's redaction (known secrets, URL passwords, bearer tokens) every URL is cut to its
 * scheme and host, and Slack tokens are masked wherever they appear.
 */
const URL_RE = /\b([a-z][a-z0-9+.-]*):\/\/(?:[^\s/?#@]*@)?([^\s/?#@]+)([^\s]*)/gi;
const SLACK_TOKEN_RE = /\bxox[a-z]-[A-Za-z0-9-]+/g;
const MAX_ERROR_CHARS = 1_000;

export function redactAlertError(text: string, secrets: readonly string[] = []): string {
  const out = redact(text, expandSecrets(secrets))
    .replace(URL_RE, (_match, scheme: string, host: string, rest: string) => (rest && rest !== "/" ? `${scheme}://${host}/…` : `${scheme}://${host}`))
    .replace(SLACK_TOKEN_RE, "xox…[redacted]");
  return truncate(out, MAX_ERROR_CHARS);
}

/** A secret URL's path and query are secrets on their own too: a server may echo its path back. */
function expandSecrets(secrets: readonly string[]): string[] {
  const out: string[] = [];
  for (const secret of secrets) {
    out.push(secret);
    try {
      const url = new URL(secret);
      const tail = url.pathname + url.search;
      if (tail.length >= 8) out.push(tail);
      if (url.password) out.push(decodeURIComponent(url.password));
    } catch {
      // not a URL
    }
  }
  // Longest first, so a URL is replaced whole before its path is.
  return out.sort((a, b) => b.length - a.length);
}

/** host[:port] of a URL, safe to show (no credentials, no path). */
export function safeHost(url: string): string {
  try {
    return new URL(url).host || "unknown host";
  } catch {
    return "an invalid URL";
  }
}
