import { describe, expect, it } from "vitest";
import { adminTokenMatches, authenticateAdmin, clientAddress, type AdminAuth, type AdminRefusal } from "@/lib/auth/admin";
import {
  newSession,
  readSessionCookie,
  sessionSetCookie,
  signSession,
  verifySession,
  SESSION_ABSOLUTE_SECONDS,
  SESSION_IDLE_SECONDS,
} from "@/lib/auth/admin-session";
import { LoginRateLimiter } from "@/lib/http/admin-session";

/** The admin session and request authentication, with the clock passed in (no database, no server). */

const TOKEN = "admin-token-0123456789abcdef";
const env = { ADMIN_TOKEN: TOKEN, NEXT_PUBLIC_APP_URL: undefined };
const T0 = Date.parse("2026-11-24T09:00:00Z");
const minutes = (n: number) => n * 60_000;

const cookieFor = (at = T0) => `crondeck_session=${signSession(newSession(at), TOKEN)}`;
const req = (method: string, headers: Record<string, string> = {}, url = "http://app.test/api/admin/cron-jobs") => new Request(url, { method, headers });
const ok = (r: AdminAuth | AdminRefusal): AdminAuth => {
  if (!r.ok) throw new Error(`refused with ${r.status}`);
  return r;
};
const status = (r: AdminAuth | AdminRefusal) => (r.ok ? 200 : r.status);
const code = async (r: AdminAuth | AdminRefusal) => (r.ok ? "ok" : r.code);

describe("admin session cookie", () => {
  it("verifies its own signature and refuses a changed payload, MAC, or another token's cookie", () => {
    const value = signSession(newSession(T0), TOKEN);
    expect(verifySession(value, TOKEN, T0)).toMatchObject({ ok: true, refreshed: null });
    const [data, mac] = value.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ sid: "x", iat: T0 / 1000, lastSeen: T0 / 1000 + 999_999 })).toString("base64url");
    expect(verifySession(`${forgedPayload}.${mac}`, TOKEN, T0)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifySession(`${data}.${mac.slice(0, -2)}`, TOKEN, T0)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifySession(`${data}.${mac}AA`, TOKEN, T0)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifySession(value, `${TOKEN}-rotated`, T0)).toEqual({ ok: false, reason: "bad_signature" });
    for (const junk of ["", "abc", "a.b.c", ".", "x".repeat(600)]) expect(verifySession(junk, TOKEN, T0).ok).toBe(false);
    expect(verifySession(null, TOKEN, T0)).toEqual({ ok: false, reason: "missing" });
  });

  it("expires after 30 idle minutes, re-issues on use (pushing the idle expiry back), and ends 8 hours after login", () => {
    let value = signSession(newSession(T0), TOKEN);
    expect(verifySession(value, TOKEN, T0 + minutes(30) + 1000)).toEqual({ ok: false, reason: "idle_expired" });
    // Used every 20 minutes: stays valid, each use re-issued with a new lastSeen...
    let now = T0;
    while (now + minutes(20) - T0 <= SESSION_ABSOLUTE_SECONDS * 1000) {
      now += minutes(20);
      const check = verifySession(value, TOKEN, now);
      expect(check.ok, new Date(now).toISOString()).toBe(true);
      if (!check.ok) break;
      expect(check.refreshed?.lastSeen).toBe(now / 1000);
      value = signSession(check.refreshed!, TOKEN);
    }
    // ...until 8 hours after the login, whatever the activity.
    expect(verifySession(value, TOKEN, T0 + SESSION_ABSOLUTE_SECONDS * 1000 + 1000)).toEqual({ ok: false, reason: "expired" });
    // Not re-issued on every request: only once a minute has passed since the last re-issue.
    expect(verifySession(signSession(newSession(T0), TOKEN), TOKEN, T0 + 30_000)).toMatchObject({ ok: true, refreshed: null });
  });

  it("Set-Cookie: HttpOnly, SameSite=Lax, Path=/; __Host- and Secure on https only; Max-Age capped by the absolute expiry", () => {
    const http = sessionSetCookie(req("POST"), newSession(T0), TOKEN);
    expect(http).toMatch(/^crondeck_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=1800$/);
    const https = sessionSetCookie(req("POST", {}, "https://app.test/api/admin/session"), newSession(T0), TOKEN);
    expect(https).toMatch(/^__Host-crondeck_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=1800; Secure$/);
    const proxied = sessionSetCookie(req("POST", { "x-forwarded-proto": "https" }), newSession(T0), TOKEN);
    expect(proxied).toMatch(/^__Host-crondeck_session=.*; Secure$/);
    const late = { sid: "s", iat: T0 / 1000, lastSeen: T0 / 1000 + SESSION_ABSOLUTE_SECONDS - 600 };
    expect(sessionSetCookie(req("GET"), late, TOKEN)).toMatch(/; Max-Age=600$/);
    expect(SESSION_IDLE_SECONDS).toBe(1800);
  });

  it("reads the cookie under the name its scheme uses", () => {
    expect(readSessionCookie(req("GET", { cookie: "a=1; crondeck_session=v1; b=2" }))).toBe("v1");
    expect(readSessionCookie(req("GET", { cookie: "__Host-crondeck_session=v2" }))).toBeNull();
    expect(readSessionCookie(req("GET", { cookie: "__Host-crondeck_session=v2" }, "https://app.test/x"))).toBe("v2");
  });
});

describe("authenticateAdmin", () => {
  it("accepts the bearer token without an Origin, and the cookie for GETs", () => {
    expect(ok(authenticateAdmin(req("POST", { authorization: `Bearer ${TOKEN}` }), env, T0))).toMatchObject({ actor: "api-token", via: "bearer", setCookie: null });
    expect(ok(authenticateAdmin(req("GET", { cookie: cookieFor() }), env, T0))).toMatchObject({ actor: "admin", via: "cookie", setCookie: null });
  });

  it("re-issues the cookie when it is used a minute or more after its last issue", () => {
    const auth = ok(authenticateAdmin(req("GET", { cookie: cookieFor() }), env, T0 + minutes(5)));
    expect(auth.setCookie).toMatch(/^crondeck_session=/);
    const refreshed = auth.setCookie!.split(";")[0];
    expect(ok(authenticateAdmin(req("GET", { cookie: refreshed }), env, T0 + minutes(34))).via).toBe("cookie");
  });

  it("refuses missing or wrong credentials with 401, an expired session with session_expired", async () => {
    expect(status(authenticateAdmin(req("GET"), env, T0))).toBe(401);
    expect(status(authenticateAdmin(req("GET", { authorization: "Bearer wrong-token-wrong-token" }), env, T0))).toBe(401);
    expect(status(authenticateAdmin(req("GET", { authorization: `bearer ${TOKEN}` }), env, T0))).toBe(401);
    // A wrong bearer is not rescued by a valid cookie.
    expect(status(authenticateAdmin(req("GET", { authorization: "Bearer nope", cookie: cookieFor() }), env, T0))).toBe(401);
    const expired = authenticateAdmin(req("GET", { cookie: cookieFor() }), env, T0 + minutes(31));
    expect(status(expired)).toBe(401);
    expect(await code(expired)).toBe("session_expired");
  });

  it("cookie requests that change state need the app's Origin (or NEXT_PUBLIC_APP_URL's); GET and bearer do not", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      for (const origin of [undefined, "null", "https://evil.example", "http://app.test:8080", "https://app.test", "http://app.test.evil.example"]) {
        const r = authenticateAdmin(req(method, { cookie: cookieFor(), ...(origin ? { origin } : {}) }), env, T0);
        expect(status(r), `${method} ${origin}`).toBe(403);
        expect(await code(r)).toBe("bad_origin");
      }
      expect(status(authenticateAdmin(req(method, { cookie: cookieFor(), origin: "http://app.test" }), env, T0))).toBe(200);
      expect(status(authenticateAdmin(req(method, { authorization: `Bearer ${TOKEN}`, origin: "https://evil.example" }), env, T0))).toBe(200);
    }
    const behindProxy = { ...env, NEXT_PUBLIC_APP_URL: "https://crondeck.example.com" };
    expect(status(authenticateAdmin(req("POST", { cookie: cookieFor(), origin: "https://crondeck.example.com" }, "http://10.0.0.5:3000/api/admin/x"), behindProxy, T0))).toBe(200);
    expect(status(authenticateAdmin(req("POST", { cookie: cookieFor(), origin: "https://crondeck.example.com" }, "http://10.0.0.5:3000/api/admin/x"), env, T0))).toBe(403);
  });

  it("answers 503 admin_not_configured to everyone when ADMIN_TOKEN is unset", async () => {
    const r = authenticateAdmin(req("GET", { authorization: "Bearer anything" }), { ADMIN_TOKEN: undefined, NEXT_PUBLIC_APP_URL: undefined }, T0);
    expect(status(r)).toBe(503);
    expect(await code(r)).toBe("admin_not_configured");
  });

  it("compares tokens in constant time over digests, and finds the client address", () => {
    expect(adminTokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(adminTokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(adminTokenMatches("", TOKEN)).toBe(false);
    expect(adminTokenMatches("x".repeat(5000), TOKEN)).toBe(false);
    expect(clientAddress(req("GET", { "x-forwarded-for": " 203.0.113.7 , 10.0.0.1" }))).toBe("203.0.113.7");
    expect(clientAddress(req("GET", { "x-real-ip": "198.51.100.4" }))).toBe("198.51.100.4");
    expect(clientAddress(req("GET"))).toBeNull();
  });
});

describe("LoginRateLimiter", () => {
  it("allows 10 failures a minute per key, then asks to wait until the minute is over", () => {
    const limiter = new LoginRateLimiter(10, 60_000);
    for (let i = 0; i < 10; i++) {
      expect(limiter.retryAfterSeconds("a", T0 + i)).toBe(0);
      limiter.fail("a", T0 + i);
    }
    expect(limiter.retryAfterSeconds("a", T0 + 10)).toBe(60);
    expect(limiter.retryAfterSeconds("a", T0 + 45_000)).toBe(15);
    expect(limiter.retryAfterSeconds("b", T0 + 10)).toBe(0);
    expect(limiter.retryAfterSeconds("a", T0 + 60_000)).toBe(0);
    limiter.fail("c", T0);
    limiter.succeed("c");
    expect(limiter.retryAfterSeconds("c", T0)).toBe(0);
  });

  it("stays bounded under a flood of addresses", () => {
    const limiter = new LoginRateLimiter(10, 60_000, 100);
    for (let i = 0; i < 1000; i++) limiter.fail(`ip-${i}`, T0);
    expect((limiter as unknown as { failures: Map<string, unknown> }).failures.size).toBeLessThanOrEqual(100);
  });
});
