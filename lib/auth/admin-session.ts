import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The admin session: a stateless signed cookie. Its payload is { sid, iat, lastSeen }
 * (seconds), MACed with HMAC-SHA256 under a key derived from ADMIN_TOKEN by HKDF, so
 * rotating ADMIN_TOKEN ends every session. Idle expiry 30 minutes (each use re-issues
 * the cookie with a new lastSeen), absolute expiry 8 hours from the login.
 *
 * Logging out deletes the cookie in the browser; a copied cookie stays valid until it
 * idles out (at most 30 minutes) or ADMIN_TOKEN changes.
 */

export const SESSION_IDLE_SECONDS = 30 * 60;
export const SESSION_ABSOLUTE_SECONDS = 8 * 60 * 60;
/** A session used within this many seconds of its last re-issue is not re-issued again (one Set-Cookie a minute at most). */
export const SESSION_REFRESH_AFTER_SECONDS = 60;
/** Clock skew tolerated between app instances for iat/lastSeen in the future. */
const FUTURE_SKEW_SECONDS = 60;

export const SECURE_COOKIE_NAME = "__Host-crondeck_session";
export const PLAIN_COOKIE_NAME = "crondeck_session";

export interface SessionPayload {
  /** Random session id (lets the audit log tell sessions apart). */
  sid: string;
  /** Login time, seconds since the epoch. */
  iat: number;
  /** Last use, seconds since the epoch. */
  lastSeen: number;
}

export type SessionCheck =
  | { ok: true; session: SessionPayload; /** Set when the cookie should be re-issued (lastSeen refreshed). */ refreshed: SessionPayload | null }
  | { ok: false; reason: "missing" | "malformed" | "bad_signature" | "idle_expired" | "expired" };

const keys = new Map<string, Buffer>();
function sessionKey(adminToken: string): Buffer {
  let key = keys.get(adminToken);
  if (!key) {
    key = Buffer.from(hkdfSync("sha256", adminToken, "crondeck", "crondeck-session-v1", 32));
    keys.clear(); // one token at a time
    keys.set(adminToken, key);
  }
  return key;
}

const b64url = (buf: Buffer | string) => Buffer.from(buf).toString("base64url");
const mac = (adminToken: string, data: string) => createHmac("sha256", sessionKey(adminToken)).update(data).digest();

/** The cookie value for a payload: base64url(JSON).base64url(HMAC). */
export function signSession(payload: SessionPayload, adminToken: string): string {
  const data = b64url(JSON.stringify(payload));
  return `${data}.${b64url(mac(adminToken, data))}`;
}

/** A new session at `now` (ms). */
export function newSession(now = Date.now()): SessionPayload {
  const t = Math.floor(now / 1000);
  return { sid: randomBytes(12).toString("base64url"), iat: t, lastSeen: t };
}

/** Verifies a cookie value in constant time over the MAC, then its idle and absolute expiry. */
export function verifySession(value: string | null | undefined, adminToken: string, now = Date.now()): SessionCheck {
  if (!value) return { ok: false, reason: "missing" };
  if (value.length > 512) return { ok: false, reason: "malformed" };
  const dot = value.indexOf(".");
  if (dot <= 0 || dot !== value.lastIndexOf(".")) return { ok: false, reason: "malformed" };
  const data = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1), "base64url");
  const expected = mac(adminToken, data);
  // Compare a fixed-length buffer either way, so a short or long MAC takes the same time.
  const candidate = Buffer.alloc(expected.length);
  given.copy(candidate, 0, 0, Math.min(given.length, expected.length));
  const same = timingSafeEqual(candidate, expected);
  if (!same || given.length !== expected.length) return { ok: false, reason: "bad_signature" };
  let payload: SessionPayload;
  try {
    payload = JSON.parse(Buffer.from(data, "base64url").toString("utf8")) as SessionPayload;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!payload || typeof payload.iat !== "number" || typeof payload.lastSeen !== "number" || typeof payload.sid !== "string") return { ok: false, reason: "malformed" };
  const t = Math.floor(now / 1000);
  if (payload.iat > t + FUTURE_SKEW_SECONDS || payload.lastSeen > t + FUTURE_SKEW_SECONDS || payload.lastSeen < payload.iat) return { ok: false, reason: "malformed" };
  if (t - payload.iat > SESSION_ABSOLUTE_SECONDS) return { ok: false, reason: "expired" };
  if (t - payload.lastSeen > SESSION_IDLE_SECONDS) return { ok: false, reason: "idle_expired" };
  const refreshed = t - payload.lastSeen >= SESSION_REFRESH_AFTER_SECONDS ? { ...payload, lastSeen: t } : null;
  return { ok: true, session: payload, refreshed };
}

/** https as the client sees it: the request URL, or the first x-forwarded-proto behind a proxy. */
export function isHttps(request: Request): boolean {
  if (new URL(request.url).protocol === "https:") return true;
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  return forwarded === "https";
}

/** `__Host-` needs Secure, which needs https; plain http (local development, tests) gets a plain name. */
export function sessionCookieName(request: Request): string {
  return isHttps(request) ? SECURE_COOKIE_NAME : PLAIN_COOKIE_NAME;
}

/** The session cookie's value from the request, under the name its scheme uses. */
export function readSessionCookie(request: Request): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  const name = sessionCookieName(request);
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

function attributes(request: Request, maxAgeSeconds: number): string {
  // Secure whenever the request is https (always on Vercel); never on plain http, where a browser would drop it.
  const secure = isHttps(request) ? "; Secure" : "";
  return `Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure}`;
}

/** Set-Cookie for a session: lives until its idle expiry, capped by its absolute expiry. */
export function sessionSetCookie(request: Request, payload: SessionPayload, adminToken: string): string {
  const maxAge = Math.max(0, Math.min(payload.lastSeen + SESSION_IDLE_SECONDS, payload.iat + SESSION_ABSOLUTE_SECONDS) - payload.lastSeen);
  return `${sessionCookieName(request)}=${signSession(payload, adminToken)}; ${attributes(request, maxAge)}`;
}

/** Set-Cookie that deletes the session cookie. */
export function clearSessionCookie(request: Request): string {
  return `${sessionCookieName(request)}=; ${attributes(request, 0)}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}
