/**
 * The one home of what is secret and how it is removed. `secretSet` turns configured values
 * (tokens, connection URLs, webhook URLs) into every form in which they can show up in text;
 * `redact` removes those and a few generic shapes (URL passwords, bearer tokens, secret-named
 * query parameters) from a string; `redactDeep` does it to every string of a JSON-able value,
 * object keys included. lib/env.ts's `secretsOf` says which variables feed `secretSet`.
 */

/** What replaces a secret. */
const REDACTED = "[redacted]";

/**
 * Values shorter than this are never replaced: redacting "abc" or "5432" everywhere would
 * mangle every message and hide nothing a guess would not find. The variables Crondeck
 * generates must be 16 characters or more (lib/env.ts); a shorter password in a URL is still
 * masked where it sits in the URL (`user:***@`), just not elsewhere.
 */
export const MIN_SECRET_LENGTH = 6;

/**
 * Query parameters of connection URLs whose values are settings, not credentials
 * (`?sslmode=require`): their values ("require", "verify-full") are not redacted everywhere.
 */
const SETTING_PARAMS: ReadonlySet<string> = new Set(["sslmode", "channel_binding", "connect_timeout", "target_session_attrs", "gssencmode", "sslnegotiation", "application_name"]);

/** A database URL's user name is a role name ("postgres"), not a credential. */
const ROLE_NAME_SCHEMES: ReadonlySet<string> = new Set(["postgres:", "postgresql:"]);

type Maybe = string | null | undefined;

export interface SecretSources {
  /** Secret as a whole: tokens, signing secrets. */
  values?: readonly Maybe[];
  /**
   * URLs whose credentials are secret: the userinfo (`user:password`, the password; a user name
   * alone, as a Sentry DSN's key, unless the URL is a database's) and every query value.
   */
  urls?: readonly Maybe[];
  /**
   * URLs secret as a whole (a Slack incoming webhook's path is its token): the URL, its path and
   * query, its token-like path segments, besides its credentials and query values. A value that is not
   * a URL is taken as a secret value.
   */
  secretUrls?: readonly Maybe[];
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/** The secret pieces of a URL: userinfo and query values, and with `whole` the URL, its path and query. */
function urlSecrets(text: string, whole: boolean): string[] {
  const url = parseUrl(text);
  if (!url) return whole ? [text] : [];
  const out: string[] = [];
  if (url.password) out.push(`${url.username}:${url.password}`, url.password);
  else if (url.username && (whole || !ROLE_NAME_SCHEMES.has(url.protocol))) out.push(url.username);
  // Raw and decoded forms of each query value (the raw form is what the URL's text holds).
  for (const pair of url.search.replace(/^\?/, "").split("&")) {
    const at = pair.indexOf("=");
    if (at < 0) continue;
    if (!whole && SETTING_PARAMS.has(decoded(pair.slice(0, at)).toLowerCase())) continue;
    out.push(pair.slice(at + 1));
  }
  if (whole) {
    // The URL as given and as normalised, each without its query too.
    out.push(text, text.split(/[?#]/)[0], url.href, `${url.protocol}//${url.host}${url.pathname}`, url.pathname + url.search, url.pathname, url.search.slice(1));
    // The token-like segments on their own (a server may echo just its token): 8 or more
    // characters with a digit in them, or 20 or more ("services" and "hooks" stay readable).
    for (const segment of url.pathname.split("/")) {
      if ((segment.length >= 8 && /\d/.test(segment)) || segment.length >= 20) out.push(segment);
    }
  }
  return out;
}

/**
 * Every form of every configured secret that text may carry: the value, its percent-decoded
 * and percent-encoded forms; for URLs, their pieces (see SecretSources). Deduplicated, without
 * values shorter than MIN_SECRET_LENGTH, longest first (a URL goes before its path).
 */
export function secretSet(sources: SecretSources): string[] {
  const pieces: string[] = [];
  for (const value of sources.values ?? []) if (value) pieces.push(value);
  for (const url of sources.urls ?? []) if (url) pieces.push(...urlSecrets(url, false));
  for (const url of sources.secretUrls ?? []) if (url) pieces.push(...urlSecrets(url, true));
  const out = new Set<string>();
  for (const piece of pieces) {
    // A short secret stays short whatever its encoding makes of it ("u:pw" is not "u%3Apw").
    if (decoded(piece).length < MIN_SECRET_LENGTH) continue;
    for (const form of [piece, decoded(piece), encodeURIComponent(piece), encodeURIComponent(decoded(piece))]) out.add(form);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/**
 * The scheme is bounded (32 characters): unbounded, a long run of letters is rescanned from
 * each of its characters, quadratic in its length. A longer run before "://" still matches,
 * from its last 32 characters.
 */
const URL_CREDENTIALS_RE = /([a-z][a-z0-9+.-]{0,31}:\/\/[^:\s/@]+:)[^@\s/]+@/gi;
const BEARER_RE = /(bearer\s+)[A-Za-z0-9._~+/=-]{6,}/gi;
/** `?api_key=…`, `&token=…`, `access_token=…`, `sig=…` in any URL or query string. */
const SECRET_PARAM_RE = /([?&][\w.-]*(?:key|token|secret|passw(?:or)?d|pwd|sig|signature|auth|credential)[\w.-]*=)[^&\s#"'<>]+/gi;

const compiled = new WeakMap<readonly string[], RegExp | null>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One alternation of the secrets, longest first, compiled once per list. */
function secretsPattern(secrets: readonly string[]): RegExp | null {
  let re = compiled.get(secrets);
  if (re === undefined) {
    const usable = [...new Set(secrets.filter((s) => typeof s === "string" && s.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
    re = usable.length ? new RegExp(usable.map(escapeRegExp).join("|"), "g") : null;
    compiled.set(secrets, re);
  }
  return re;
}

/**
 * Removes secrets from text that is stored, shown or sent: the given secret forms (from
 * `secretSet`), any URL's password, bearer tokens, and the values of
 * secret-named query parameters.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  const re = secretsPattern(secrets);
  const out = re ? text.replace(re, REDACTED) : text;
  return out.replace(URL_CREDENTIALS_RE, "$1***@").replace(BEARER_RE, `$1${REDACTED}`).replace(SECRET_PARAM_RE, "$1***");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `redact` applied to every string of a value, object keys included (two keys that redact
 * alike both stay, numbered). Numbers whose digits contain a secret become the redacted
 * string. Arrays and plain objects are copied; anything else (a Date) is returned as it is.
 */
export function redactDeep<T>(value: T, secrets: readonly string[] = []): T {
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redact(v, secrets);
    if (typeof v === "number" || typeof v === "bigint") {
      const text = String(v);
      const clean = redact(text, secrets);
      return clean === text ? v : clean;
    }
    if (Array.isArray(v)) {
      if (seen.has(v)) return "[circular]";
      seen.add(v);
      return v.map(walk);
    }
    if (isPlainObject(v)) {
      if (seen.has(v)) return "[circular]";
      seen.add(v);
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(v)) {
        const cleanKey = redact(key, secrets);
        let name = cleanKey;
        for (let n = 2; Object.hasOwn(out, name); n++) name = `${cleanKey} (${n})`;
        out[name] = walk(inner);
      }
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/**
 * A URL as it may be shown: user name and password as `***`, every query value as `***`, no
 * fragment. For lists of URLs whose credentials or keys must not reach a log (HEALTHCHECK_URLS).
 */
export function maskUrl(text: string): string {
  const url = parseUrl(text);
  if (!url) return "an invalid URL";
  const userinfo = url.username || url.password ? `${url.username ? "***" : ""}${url.password ? ":***" : ""}@` : "";
  const query = url.search
    ? `?${url.search
        .slice(1)
        .split("&")
        .map((pair) => (pair.includes("=") ? `${pair.slice(0, pair.indexOf("="))}=***` : pair))
        .join("&")}`
    : "";
  return `${url.protocol}//${userinfo}${url.host}${url.pathname}${query}`;
}

/** Cuts text to `max` characters, saying how much was cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}
