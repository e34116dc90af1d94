import { expect, it } from "vitest";
import { adminTokenMatches, authenticateAdmin, type AdminAuth, type AdminRefusal } from "@/lib/auth/admin";
import {
  newSession,
  readSessionCookie,
  sessionRowFor,
  sessionSetCookie,
  signSession,
  verifySessionCookie,
  SESSION_ABSOLUTE_SECONDS,
  SESSION_IDLE_SECONDS,
} from "@/lib/auth/admin-session";
import { startSession } from "@/lib/db/commands/sessions";
import { describeOnDatabases } from "../support/db";

/**
 * The admin session cookie and request authentication, with the clock passed in, on a real
 * database (the session's row decides; tests/integration/sessions.test.ts tries to break it).
 */

const TOKEN = "admin-token-0123456789abcdef";
const env = { ADMIN_TOKEN: TOKEN, NEXT_PUBLIC_APP_URL: undefined };
const T0 = Date.parse("2026-11-24T09:00:00Z");
const minutes = (n: number) => n * 60_000;

const req = (method: string, headers: Record<string, string> = {}, url = "http://app.test/api/admin/cron-jobs") => new Request(url, { method, headers });
const ok = (r: AdminAuth | AdminRefusal): AdminAuth => {
  if (!r.ok) throw new Error(`refused with ${r.status} ${r.code}`);
  return r;
};
const status = (r: AdminAuth | AdminRefusal) => (r.ok ? 200 : r.status);
const code = (r: AdminAuth | AdminRefusal) => (r.ok ? "ok" : r.code);

describeOnDatabases("admin authentication", (ctx) => {
  const opts = (at = T0) => ({ db: async () => ctx.db, now: new Date(at) });
  const auth = (request: Request, at = T0, e: Parameters<typeof authenticateAdmin>[1] = env) => authenticateAdmin(request, e, opts(at));
  /** A stored session started at `at`; its cookie header. */
  const cookieFor = async (at = T0) => {
    const cookie = newSession(at);
    await startSession(ctx.db, { name: "admin", via: "cookie", ip: null }, sessionRowFor(cookie, { actor: "admin", role: "admin" }, TOKEN, { ip: null, userAgent: "vitest" }));
    return `crondeck_session=${signSession(cookie, TOKEN)}`;
  };

  it("verifies its own signature and refuses a changed payload, MAC, or another token's cookie", () => {
    const value = signSession(newSession(T0), TOKEN);
    expect(verifySessionCookie(value, TOKEN, T0)).toMatchObject({ ok: true });
    const [data, mac] = value.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ sid: "x", iat: T0 / 1000 })).toString("base64url");
    expect(verifySessionCookie(`${forgedPayload}.${mac}`, TOKEN, T0)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifySessionCookie(`${data}.${mac.slice(0, -2)}`, TOKEN, T0)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifySessionCookie(`${data}.${mac}AA`, TOKEN, T0)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifySessionCookie(value, `${TOKEN}-rotated`, T0)).toEqual({ ok: false, reason: "bad_signature" });
    for (const junk of ["", "abc", "a.b.c", ".", "x".repeat(600)]) expect(verifySessionCookie(junk, TOKEN, T0).ok).toBe(false);
    expect(verifySessionCookie(null, TOKEN, T0)).toEqual({ ok: false, reason: "missing" });
  });

  it("a validly signed cookie without its row is refused: the row decides, not the signature", async () => {
    const orphan = `crondeck_session=${signSession(newSession(T0), TOKEN)}`;
    const r = await auth(req("GET", { cookie: orphan }));
    expect(status(r)).toBe(401);
    expect(code(r)).toBe("unauthorized");
  });

  it("Set-Cookie: HttpOnly, SameSite=Lax, Path=/; __Host- and Secure on https only; Max-Age the absolute expiry", () => {
    const http = sessionSetCookie(req("POST"), newSession(T0), TOKEN);
    expect(http).toMatch(new RegExp(`^crondeck_session=[^;]+; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_ABSOLUTE_SECONDS}$`));
    const https = sessionSetCookie(req("POST", {}, "https://app.test/api/admin/session"), newSession(T0), TOKEN);
    expect(https).toMatch(new RegExp(`^__Host-crondeck_session=[^;]+; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_ABSOLUTE_SECONDS}; Secure$`));
    const proxied = sessionSetCookie(req("POST", { "x-forwarded-proto": "https" }), newSession(T0), TOKEN);
    expect(proxied).toMatch(/^__Host-crondeck_session=.*; Secure$/);
    expect(SESSION_IDLE_SECONDS).toBe(1800);
  });

  it("reads the cookie under the name its scheme uses", () => {
    expect(readSessionCookie(req("GET", { cookie: "a=1; crondeck_session=v1; b=2" }))).toBe("v1");
    expect(readSessionCookie(req("GET", { cookie: "__Host-crondeck_session=v2" }))).toBeNull();
    expect(readSessionCookie(req("GET", { cookie: "__Host-crondeck_session=v2" }, "https://app.test/x"))).toBe("v2");
  });

  it("accepts the bearer token without an Origin (no session), and the cookie for GETs (with its session id)", async () => {
    expect(ok(await auth(req("POST", { authorization: `Bearer ${TOKEN}` })))).toMatchObject({ actor: "api-token", via: "bearer", session: null });
    const cookie = await cookieFor();
    const viaCookie = ok(await auth(req("GET", { cookie })));
    expect(viaCookie).toMatchObject({ actor: "admin", via: "cookie" });
    const sid = (JSON.parse(Buffer.from(cookie.split("=")[1].split(".")[0], "base64url").toString()) as { sid: string }).sid;
    expect(viaCookie.session).toBe(sid);
  });

  it("refuses missing or wrong credentials with 401, an idle session with session_expired", async () => {
    expect(status(await auth(req("GET")))).toBe(401);
    expect(status(await auth(req("GET", { authorization: "Bearer wrong-token-wrong-token" })))).toBe(401);
    expect(status(await auth(req("GET", { authorization: `bearer ${TOKEN}` })))).toBe(401);
    // A wrong bearer is not rescued by a valid cookie.
    expect(status(await auth(req("GET", { authorization: "Bearer nope", cookie: await cookieFor() })))).toBe(401);
    const expired = await auth(req("GET", { cookie: await cookieFor() }), T0 + minutes(31));
    expect(status(expired)).toBe(401);
    expect(code(expired)).toBe("session_expired");
  });

  it("cookie requests that change state need the app's Origin (or NEXT_PUBLIC_APP_URL's); GET and bearer do not", async () => {
    const cookie = await cookieFor();
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      for (const origin of [undefined, "null", "https://evil.example", "http://app.test:8080", "https://app.test", "http://app.test.evil.example"]) {
        const r = await auth(req(method, { cookie, ...(origin ? { origin } : {}) }));
        expect(status(r), `${method} ${origin}`).toBe(403);
        expect(code(r)).toBe("bad_origin");
      }
      expect(status(await auth(req(method, { cookie, origin: "http://app.test" })))).toBe(200);
      expect(status(await auth(req(method, { authorization: `Bearer ${TOKEN}`, origin: "https://evil.example" })))).toBe(200);
    }
    const behindProxy = { ...env, NEXT_PUBLIC_APP_URL: "https://crondeck.example.com" };
    expect(status(await auth(req("POST", { cookie, origin: "https://crondeck.example.com" }, "http://10.0.0.5:3000/api/admin/x"), T0, behindProxy))).toBe(200);
    expect(status(await auth(req("POST", { cookie, origin: "https://crondeck.example.com" }, "http://10.0.0.5:3000/api/admin/x")))).toBe(403);
  });

  it("answers 503 admin_not_configured to everyone when ADMIN_TOKEN is unset", async () => {
    const r = await auth(req("GET", { authorization: "Bearer anything" }), T0, { ADMIN_TOKEN: undefined, NEXT_PUBLIC_APP_URL: undefined });
    expect(status(r)).toBe(503);
    expect(code(r)).toBe("admin_not_configured");
  });

  it("compares tokens in constant time over digests", () => {
    expect(adminTokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(adminTokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(adminTokenMatches("", TOKEN)).toBe(false);
    expect(adminTokenMatches("x".repeat(5000), TOKEN)).toBe(false);
  });
});
