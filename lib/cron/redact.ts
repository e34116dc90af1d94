const URL_CREDENTIALS_RE = /([a-z][a-z0-9+.-]*:\/\/[^:\s/@]+:)[^@\s/]+@/gi;
const BEARER_RE = /(bearer\s+)[A-Za-z0-9._~+/=-]{6,}/gi;

/**
 * Removes secrets from text that is stored or shown: known secret values, passwords in
 * connection URLs and bearer tokens. Used on error messages, stacks and log lines.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_CREDENTIALS_RE, "$1***@").replace(BEARER_RE, "$1[redacted]");
  for (const secret of secrets) {
    if (secret && secret.length >= 6) out = out.split(secret).join("[redacted]");
  }
  return out;
}

/** Cuts text to `max` characters, saying how much was cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}
