import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import type { AdminRole } from "../cron/vocabulary";
import type { Db } from "../db/client";
import { findSession, revokeSession, revokeSessionsNotUnder, touchSession, type SessionRecord } from "../db/sessions";

/**
 * The admin session. The cookie is signed (HMAC-SHA256 under a key derived from ADMIN_TOKEN by
 * HKDF) and carries only { sid, iat }: the signature refuses garbage without a database round
 * trip, and the row in cron_admin_sessions decides whether the session is still good
 * (checkSession, the one check for routes and pages alike):
 *   - no row, a revoked row (logout), or a row made under another ADMIN_TOKEN (its fingerprint
 *     differs; such a cookie's signature fails too, as the MAC key is derived from the token:
 *     when one is seen, or at the next login, every older session is marked revoked) -> unauthorized;
 *   - past its absolute expiry (8 h from login), or idle (30 min since last_seen_at) -> expired.
 * The user's requests move last_seen_at (one write a minute at most); background requests
 * (lib/auth/background.ts) do not, so an open tab idles out like a closed one.
 */

export const SESSION_IDLE_SECONDS = 30 * 60;
export const SESSION_ABSOLUTE_SECONDS = 8 * 60 * 60;
/** last_seen_at is written at most once per this many seconds per session. */
export const SESSION_TOUCH_AFTER_SECONDS = 60;
/** Clock skew tolerated between app instances for a cookie's iat in the future. */
const FUTURE_SKEW_SECONDS = 60;
/** A user agent is stored cut to this length. */
const USER_AGENT_MAX = 200;

export const SECURE_COOKIE_NAME = "__Host-crondeck_session";
export const PLAIN_COOKIE_NAME = "crondeck_session";

export interface SessionCookie {
  /** The session's id: the primary key of its cron_admin_sessions row. */
  sid: string;
  /** Login time, seconds since the epoch. */
  iat: number;
}

export type SessionRefusalReason = "missing" | "malformed" | "bad_signature" | "unknown" | "revoked" | "token_rotated" | "idle_expired" | "expired";

export type SessionCheck = { ok: true; session: SessionRecord } | { ok: false; reason: SessionRefusalReason };

/** True for the reasons the user is told "your session expired" (401 session_expired) rather than "not logged in". */
export const isExpiry = (reason: SessionRefusalReason) => reason === "idle_expired" || reason === "expired";

const keys = new Map<string, { mac: Buffer; fingerprint: string }>();
function derived(adminToken: string) {
  let entry = keys.get(adminToken);
  if (!entry) {
    entry = {
      mac: Buffer.from(hkdfSync("sha256", adminToken, "crondeck", "crondeck-session-v1", 32)),
      fingerprint: Buffer.from(hkdfSync("sha256", adminToken, "crondeck", "crondeck-session-fingerprint-v1", 32)).toString("base64url"),
    };
    keys.clear(); // one token at a time
    keys.set(adminToken, entry);
  }
  return entry;
}

/** Names the ADMIN_TOKEN a session was made under without revealing it (HKDF, a key separate from the cookie's MAC key). */
export const tokenFingerprint = (adminToken: string) => derived(adminToken).fingerprint;

const b64url = (buf: Buffer | string) => Buffer.from(buf).toString("base64url");
const mac = (adminToken: string, data: string) => createHmac("sha256", derived(adminToken).mac).update(data).digest();

/** The cookie value for a session: base64url(JSON).base64url(HMAC). */
export function signSession(payload: SessionCookie, adminToken: string): string {
  const data = b64url(JSON.stringify(payload));
  return `${data}.${b64url(mac(adminToken, data))}`;
}

/** A new session's cookie payload at `now` (ms): a random 256-bit id. */
export function newSession(now: number): SessionCookie {
  return { sid: randomBytes(32).toString("base64url"), iat: Math.floor(now / 1000) };
}

/** The cookie's signature and shape (constant time over the MAC); says nothing about the session's row. */
export function verifySessionCookie(value: string | null | undefined, adminToken: string, now: number): { ok: true; cookie: SessionCookie } | { ok: false; reason: SessionRefusalReason } {
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
  let payload: SessionCookie;
  try {
    payload = JSON.parse(Buffer.from(data, "base64url").toString("utf8")) as SessionCookie;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!payload || typeof payload.iat !== "number" || typeof payload.sid !== "string" || payload.sid.length > 100) return { ok: false, reason: "malformed" };
  if (payload.iat > Math.floor(now / 1000) + FUTURE_SKEW_SECONDS) return { ok: false, reason: "malformed" };
  return { ok: true, cookie: { sid: payload.sid, iat: payload.iat } };
}

/** The sid a cookie claims, before (or without) its signature being checked; null when it has none. */
function unverifiedSid(value: string | null | undefined): string | null {
  try {
    const payload = JSON.parse(Buffer.from((value ?? "").split(".")[0] ?? "", "base64url").toString("utf8")) as Partial<SessionCookie>;
    return typeof payload?.sid === "string" && /^[A-Za-z0-9_-]{20,100}$/.test(payload.sid) ? payload.sid : null;
  } catch {
    return null;
  }
}

export interface SessionCheckOptions {
  now: Date;
  /** A request the dashboard made on its own (a poll, an auto-refresh): it does not count as activity. */
  background: boolean;
}

/**
 * The one check of a session cookie, for route handlers and pages alike: the signature, then
 * the row. A user's request moves last_seen_at (throttled); a background one does not.
 */
export async function checkSession(db: Db, value: string | null | undefined, adminToken: string, opts: SessionCheckOptions): Promise<SessionCheck> {
  const now = opts.now;
  const cookie = verifySessionCookie(value, adminToken, now.getTime());
  if (!cookie.ok) {
    // A well-formed cookie signed under another key is most likely one made before ADMIN_TOKEN
    // changed: if its row says so, that session and every other older one are marked revoked.
    const sid = cookie.reason === "bad_signature" ? unverifiedSid(value) : null;
    const row = sid ? await findSession(db, sid) : null;
    if (row && !row.revokedAt && row.tokenFingerprint !== tokenFingerprint(adminToken)) {
      await revokeSessionsNotUnder(db, tokenFingerprint(adminToken), now);
      return { ok: false, reason: "token_rotated" };
    }
    return cookie;
  }
  const session = await findSession(db, cookie.cookie.sid);
  if (!session) return { ok: false, reason: "unknown" };
  if (session.revokedAt) return { ok: false, reason: session.revokedReason === "idle" ? "idle_expired" : session.revokedReason === "token_rotated" ? "token_rotated" : "revoked" };
  const fingerprint = tokenFingerprint(adminToken);
  if (session.tokenFingerprint !== fingerprint) {
    // ADMIN_TOKEN changed: this session and every other one made under an older token end now.
    await revokeSessionsNotUnder(db, fingerprint, now);
    return { ok: false, reason: "token_rotated" };
  }
  if (now.getTime() >= session.expiresAt.getTime()) return { ok: false, reason: "expired" };
  if (now.getTime() - session.lastSeenAt.getTime() > SESSION_IDLE_SECONDS * 1000) {
    await revokeSession(db, session.id, "idle", now);
    return { ok: false, reason: "idle_expired" };
  }
  // The row just read says whether last_seen_at is due a write: within the minute, no UPDATE is sent.
  const touchDue = now.getTime() - session.lastSeenAt.getTime() >= SESSION_TOUCH_AFTER_SECONDS * 1000;
  if (!opts.background && touchDue && (await touchSession(db, session.id, now, SESSION_TOUCH_AFTER_SECONDS * 1000))) {
    return { ok: true, session: { ...session, lastSeenAt: now } };
  }
  return { ok: true, session };
}

/** What a new session's row holds, from its cookie payload. */
export function sessionRowFor(cookie: SessionCookie, who: { actor: string; role: AdminRole }, adminToken: string, client: { ip: string | null; userAgent: string | null }) {
  return {
    id: cookie.sid,
    actor: who.actor,
    role: who.role,
    now: new Date(cookie.iat * 1000),
    expiresAt: new Date((cookie.iat + SESSION_ABSOLUTE_SECONDS) * 1000),
    tokenFingerprint: tokenFingerprint(adminToken),
    ipAddress: client.ip,
    userAgent: client.userAgent ? client.userAgent.slice(0, USER_AGENT_MAX) : null,
  };
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
  return readCookie(request, sessionCookieName(request));
}

/** One cookie's value from the request's Cookie header. */
export function readCookie(request: Request, name: string): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
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

/** Set-Cookie for a new session: the browser keeps it until the absolute expiry; the row decides before that. */
export function sessionSetCookie(request: Request, payload: SessionCookie, adminToken: string): string {
  return `${sessionCookieName(request)}=${signSession(payload, adminToken)}; ${attributes(request, SESSION_ABSOLUTE_SECONDS)}`;
}

/** Set-Cookie that deletes the session cookie. */
export function clearSessionCookie(request: Request): string {
  return `${sessionCookieName(request)}=; ${attributes(request, 0)}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}
